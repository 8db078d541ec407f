"""Extended (``--deep``) discovery: image references outside pod specs.

Operators pull images named in their args (``--prometheus-config-reloader=quay.io/...:v0.93.0``), env
(``CSI_PROVISIONER_IMAGE``), ConfigMaps (a CSI image set, a Pod template held as a string) and custom
resources (``spec.image``). Every string value of a Kubernetes object is examined:

- **keyed** strings — under a key (or env ``name``, or ``--flag``) ending in ``image``/``images`` —
  are accepted when they parse as a reference and carry a ``/``, a tag or a digest (or the key is
  exactly ``image``);
- **free** strings are split into tokens; a token counts only when it is unmistakably an image:
  an explicit registry host plus a tag/digest (or a well-known registry host), or ``org/name``
  with a version-like tag or a digest;
- multi-line strings that parse as YAML/JSON (an embedded Pod template) are scanned like manifests.

CRDs are never scanned (their schemas and prose mention images everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sealer.discover.podspec import Hit, K8sObject
from sealer.discover.safeyaml import Budget, mapping_items, scalar_str
from sealer.errors import ReferenceError_
from sealer.reference import Reference, parse

KNOWN_REGISTRIES = frozenset({
    "docker.io", "index.docker.io", "registry-1.docker.io", "quay.io", "gcr.io", "ghcr.io",
    "registry.k8s.io", "k8s.gcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com",
    "nvcr.io", "registry.access.redhat.com", "registry.redhat.io", "docker.elastic.co", "cr.l5d.io",
    "container-registry.oracle.com", "icr.io", "cgr.dev", "registry.suse.com",
})
KNOWN_REGISTRY_SUFFIXES = (".gcr.io", ".pkg.dev", ".azurecr.io", ".amazonaws.com", ".aliyuncs.com",
                           ".icr.io", ".quay.io")
SKIPPED_KEYS = frozenset({"apiVersion", "kind", "managedFields", "imagePullPolicy", "imagePullSecrets"})
_TOKEN_SPLIT = re.compile(r"[\s\"'`,;()\[\]{}<>|\\]+")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)+([-+._][\w.-]*)?$")
_TRAILING = ".:;,)"
MAX_EMBEDDED = 1 << 20
MAX_TOKEN = 512


def is_image_key(key: str) -> bool:
    k = key.lower().rstrip("s")
    return k.endswith("image") and not k.endswith("pullimage")


def _ref(text: str) -> Reference | None:
    if not text or "{{" in text or "://" in text or len(text) > MAX_TOKEN:
        return None
    try:
        return parse(text, default_tag=False)
    except ReferenceError_:
        return None


def _explicit_domain(text: str) -> bool:
    first, sep, _ = text.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def _known_registry(domain: str) -> bool:
    return domain in KNOWN_REGISTRIES or domain.endswith(KNOWN_REGISTRY_SUFFIXES)


def keyed_image(text: str, key: str) -> bool:
    """A value stored under an image-named key: any well-formed reference with some structure."""
    text = text.strip()
    ref = _ref(text)
    if ref is None or not any(c.isalpha() for c in text):
        return False
    if text.lower() in {"none", "true", "false", "null", "latest", "always", "ifnotpresent", "never"}:
        return False
    return "/" in text or ref.tag is not None or ref.digest is not None or key.lower() == "image"


def free_image(token: str) -> bool:
    """A token in free text that is unmistakably an image reference."""
    token = token.strip().rstrip(_TRAILING)
    if "/" not in token:
        return False
    ref = _ref(token)
    if ref is None:
        return False
    if _explicit_domain(token):
        return ref.tag is not None or ref.digest is not None or _known_registry(ref.domain)
    if ref.digest is not None:
        return True
    return ref.tag is not None and bool(_VERSION_TAG.match(ref.tag))


class DeepScanner:
    """Walks one object, reporting extended hits through ``emit``."""

    def __init__(self, obj: K8sObject, budget: Budget, embedded: Callable[[str, str], list[Hit]]) -> None:
        self.obj = obj
        self.budget = budget
        self.embedded = embedded
        self.hits: list[Hit] = []

    def run(self) -> list[Hit]:
        self._walk(self.obj.node, "", "", 0)
        return self.hits

    def _emit(self, raw: str, node: Node, path: str) -> None:
        detail = f"{self.obj.label} {path.lstrip('.') or '.'} (extended)"
        self.hits.append(Hit(raw.strip().rstrip(_TRAILING) if "/" in raw else raw.strip(),
                             self.budget.line(node), detail, True, self.obj.helm_test))

    def _walk(self, node: Node, key: str, path: str, depth: int) -> None:
        self.budget.tick(node)
        self.budget.depth(depth, node)
        if isinstance(node, MappingNode):
            items = mapping_items(node)
            env_name = None
            names = [v for k, v in items if isinstance(k, ScalarNode) and k.value == "name"]
            if names and any(isinstance(k, ScalarNode) and k.value == "value" for k, _ in items):
                env_name = scalar_str(names[0])
            for k, v in items:
                kstr = scalar_str(k) if isinstance(k, ScalarNode) else None
                if kstr is None or kstr in SKIPPED_KEYS:
                    continue
                child_key = env_name if (kstr == "value" and env_name) else kstr
                self._walk(v, child_key, f"{path}.{kstr}", depth + 1)
        elif isinstance(node, SequenceNode):
            flag_key = ""
            for i, item in enumerate(node.value):
                text = scalar_str(item)
                item_key = key
                if text is not None and flag_key:
                    item_key = flag_key
                self._walk(item, item_key, f"{path}[{i}]", depth + 1)
                flag_key = ""
                if text is not None and text.startswith("-") and "=" not in text and is_image_key(text.lstrip("-")):
                    flag_key = text.lstrip("-")
        else:
            text = scalar_str(node)
            if text is not None:
                self._string(text, key, node, path)

    def _string(self, text: str, key: str, node: Node, path: str) -> None:
        if key and is_image_key(key) and keyed_image(text, key):
            self._emit(text, node, path)
            return
        if "\n" in text and len(text) <= MAX_EMBEDDED:
            found = self.embedded(text, f"{self.obj.label} {path.lstrip('.')}")
            for h in found:
                self.hits.append(Hit(h.raw, self.budget.line(node), h.detail, True, self.obj.helm_test or h.helm_test))
            if found:
                return
        for token in _TOKEN_SPLIT.split(text):
            if not token:
                continue
            flag, eq, value = token.partition("=")
            if eq and is_image_key(flag.lstrip("-")) and keyed_image(value, flag):
                self._emit(value, node, path)
            elif free_image(value if eq else token):
                self._emit(value if eq else token, node, path)
