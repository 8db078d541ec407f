"""The kubeadm configuration one host gets: render templates, check them, apply Clusterfile overrides.

master0 gets ``InitConfiguration`` + ``ClusterConfiguration`` + ``KubeProxyConfiguration`` +
``KubeletConfiguration`` (for ``kubeadm init``); every other host gets the bootstrap
template merged with the join template into one ``JoinConfiguration``, plus
``KubeletConfiguration`` (for ``kubeadm join``), as sealer does.

Precedence: Clusterfile kubeadm documents > image templates (``etc/``) > packaged defaults.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sealer.cluster import templates as T
from sealer.cluster.clusterfile import KUBEADM_KINDS, Cluster
from sealer.cluster.gotemplate import GoTemplateEngine
from sealer.cluster.rootfs import etc_dir, read_metadata
from sealer.cluster.templates import Template, load_templates
from sealer.cluster.typecheck import TypeProblem, check_kubeadm_document, check_same_shape
from sealer.cluster.variables import TemplateVariables, build_variables
from sealer.cluster.yamlsrc import construct
from sealer.errors import ClusterConfigError

_BROKEN_ACTION = re.compile(r"\{\s+\{|\}\s+\}")
_APPEND_LISTS = {("apiServer", "certSANs")}


@dataclass(frozen=True)
class ConfigDocument:
    """One kubeadm document with the files it was made from."""

    kind: str
    data: dict[str, Any]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HostKubeadmConfig:
    host: str
    role: str  # master0 | master | node
    documents: tuple[ConfigDocument, ...]
    variables: TemplateVariables

    @property
    def command(self) -> str:
        return "kubeadm init" if self.role == "master0" else "kubeadm join"

    def document(self, kind: str) -> ConfigDocument:
        for d in self.documents:
            if d.kind == kind:
                return d
        raise KeyError(kind)

    def to_yaml(self, *, comments: bool = True) -> str:
        parts: list[str] = []
        for d in self.documents:
            head = f"# source: {', '.join(d.sources)}\n" if comments else ""
            parts.append(head + yaml.safe_dump(d.data, sort_keys=False, default_flow_style=False))
        text = "---\n".join(parts)
        if comments:
            text = f"# {self.command} --config for {self.host} ({self.role})\n" + text
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "role": self.role,
            "command": self.command,
            "documents": [{"kind": d.kind, "sources": list(d.sources), "data": d.data} for d in self.documents],
            "variables": self.variables.to_json(),
            "placeholders": self.variables.placeholders,
        }


def _template_file(t: Template) -> str:
    return t.name if t.is_default else t.origin


def _yaml_error(e: yaml.YAMLError, text: str, t: Template) -> ClusterConfigError:
    mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines):
        return ClusterConfigError(f"rendered output is not valid YAML: {problem}", _template_file(t))
    n = mark.line + 1
    line = lines[mark.line]
    hint = ""
    if _BROKEN_ACTION.search(line):
        hint = "; it looks like a template action with spaces between its braces: write '{{' and '}}'"
    return ClusterConfigError(
        f"rendered output is not valid YAML at rendered line {n}: {problem}{hint}\n    {n} | {line}",
        _template_file(t),
    )


def parse_rendered(text: str, t: Template, *, need_kind: bool = True) -> list[dict[str, Any]]:
    """The YAML documents of a rendered template; errors name the template and rendered line."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if n]
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, t) from None
    # walked under the YAML budget: a template's output is image content (alias bombs, duplicate keys refused)
    docs = [d for i, n in enumerate(nodes, 1) if (d := construct(n, _template_file(t), i)[0]) is not None]
    for n, line in enumerate(text.splitlines(), 1):
        if _BROKEN_ACTION.search(line) and not line.lstrip().startswith("#"):
            raise ClusterConfigError(
                f"rendered line {n} holds literal text that looks like a template action with spaces between "
                f"its braces (write '{{{{' and '}}}}'):\n    {n} | {line}", _template_file(t))
    if not docs:
        raise ClusterConfigError("rendered output holds no YAML document", _template_file(t))
    for i, d in enumerate(docs, 1):
        if not isinstance(d, dict):
            raise ClusterConfigError(f"rendered document {i} is not a mapping", _template_file(t))
        if need_kind and d.get("kind") not in KUBEADM_KINDS:
            raise ClusterConfigError(
                f"rendered document {i} has kind {d.get('kind')!r}; expected one of {', '.join(KUBEADM_KINDS)}",
                _template_file(t))
    return docs


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``override`` onto ``base``: mappings merge, ``apiServer.certSANs`` appends, the rest replaces."""
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        here = (*path, k)
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v, here)
        elif here in _APPEND_LISTS and isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = list(dict.fromkeys([*out[k], *v]))
        else:
            out[k] = copy.deepcopy(v)
    return out


def _ordered(doc: Mapping[str, Any]) -> dict[str, Any]:
    head = {k: doc[k] for k in ("apiVersion", "kind") if k in doc}
    return {**head, **{k: v for k, v in doc.items() if k not in head}}


def _render(engine: GoTemplateEngine, t: Template, variables: TemplateVariables) -> str:
    return engine.render(t.text, variables.data(), name=_template_file(t))


def kubeadm_config(
    cluster: Cluster,
    host: str | None = None,
    *,
    rootfs: Path | None = None,
    templates: Mapping[str, Template] | None = None,
    image_version: str | None = None,
    token: str | None = None,
    ca_cert_hash: str | None = None,
) -> HostKubeadmConfig:
    """The kubeadm configuration ``host`` (default: master0) would get.

    ``rootfs`` supplies ``etc/`` template overrides and the ``Metadata`` version;
    ``templates``/``image_version`` may be given directly instead.
    """
    masters = cluster.masters
    host = host or masters[0]
    cluster.host(host)
    version_source = "Metadata"
    if rootfs is not None:
        if templates is None:
            templates = load_templates(etc_dir(rootfs))
        if image_version is None:
            meta = read_metadata(rootfs)
            image_version = meta.version if meta else None
            version_source = f"{rootfs}/Metadata"
    if templates is None:
        templates = load_templates(None)
    variables = build_variables(cluster, host, image_version=image_version, version_source=version_source,
                                token=token, ca_cert_hash=ca_cert_hash)
    role = "master0" if host == masters[0] else ("master" if host in masters else "node")
    docs: list[ConfigDocument] = []
    with GoTemplateEngine() as engine:
        if role == "master0":
            for name in (T.INIT, T.CLUSTER, T.KUBEPROXY, T.KUBELET):
                t = templates[name]
                for d in parse_rendered(_render(engine, t, variables), t):
                    docs.append(ConfigDocument(d["kind"], _ordered(d), (t.label,)))
        else:
            boot, join = templates[T.BOOTSTRAP], templates[T.JOIN]
            boot_docs = parse_rendered(_render(engine, boot, variables), boot, need_kind=False)
            if len(boot_docs) != 1:
                raise ClusterConfigError(f"rendered output holds {len(boot_docs)} documents; expected one "
                                         "(it is merged into the JoinConfiguration)", _template_file(boot))
            join_docs = parse_rendered(_render(engine, join, variables), join, need_kind=False)
            first = deep_merge(boot_docs[0], join_docs[0])
            combined = [first, *join_docs[1:]]
            for i, d in enumerate(combined, 1):
                if d.get("kind") not in KUBEADM_KINDS:
                    raise ClusterConfigError(f"rendered document {i} has kind {d.get('kind')!r}; expected "
                                             f"one of {', '.join(KUBEADM_KINDS)}", _template_file(join))
            docs.append(ConfigDocument(first["kind"], _ordered(first), (boot.label, join.label)))
            docs.extend(ConfigDocument(d["kind"], _ordered(d), (join.label,)) for d in join_docs[1:])
            t = templates[T.KUBELET]
            for d in parse_rendered(_render(engine, t, variables), t):
                docs.append(ConfigDocument(d["kind"], _ordered(d), (t.label,)))
    return HostKubeadmConfig(host, role, tuple(_apply_clusterfile(cluster, docs)), variables)


def _apply_clusterfile(cluster: Cluster, docs: list[ConfigDocument]) -> list[ConfigDocument]:
    out: list[ConfigDocument] = []
    for d in docs:
        override = cluster.kubeadm_document(d.kind)
        if override is None:
            out.append(d)
            continue
        fields = {k: v for k, v in override.data.items() if k not in ("apiVersion", "kind")}
        try:
            check_same_shape(d.data, fields)
        except TypeProblem as e:
            raise ClusterConfigError(f"{d.kind}.{e.path}: {e.message}", override.file, override.line) from None
        merged = deep_merge(d.data, fields)
        out.append(ConfigDocument(d.kind, merged, (*d.sources, f"Clusterfile {override.label}")))
    for d in out:  # what the templates rendered (image templates, env values) must be well-typed too
        try:
            check_kubeadm_document(d.kind, d.data)
        except TypeProblem as e:
            raise ClusterConfigError(f"{d.kind}.{e.path}: {e.message} (from {', '.join(d.sources)})",
                                     cluster.file) from None
    return out
