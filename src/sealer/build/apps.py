"""sealer v0.9 applications at build time: where APP files go, which type an app is, what the image records.

Mirrors sealer (sealerio/sealer f4f89c5):

* files of ``APP name src...`` go under ``application/apps/NAME/`` (``rootfs.GlobalManager.App().Root()``), as
  the Dockerfile line ``COPY src... application/apps/NAME/`` sealer generates: a file keeps its base name, a
  directory's *contents* land in the app directory (Docker COPY semantics);
* the type (``build/kubefile/parser/utils.go``): ``helm`` when a source directory is a chart root
  (``Chart.yaml``, ``values.yaml``, ``templates``) or the sources together name those three; else ``kube``
  when every file is ``.yaml``/``.yml``, ``shell`` when every file is ``.sh``; else none (APPCMDS required);
* ``files`` (launch files): ``[NAME]`` for helm; for a directory source every file's path with the source
  prefix trimmed (Go ``strings.TrimPrefix(path, source)``, so ``local://dir`` gives ``/a.yaml``); for a file
  its base name; a shell app keeps only its first source's files;
* the ``v1.Application`` JSON: ``name``, ``type``, ``files``, ``version`` ("v1"), ``env``, ``cmds``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealer.build.context import plan_copy
from sealer.build.statcache import StatCache
from sealer.errors import BuildError
from sealer.kubefile import (
    App,
    AppCmds,
    AppEnv,
    Arg,
    Cmds,
    Copy,
    Env,
    Instruction,
    Kubefile,
    KubeVersion,
    Label,
    Launch,
    Location,
    Maintainer,
    check_apps,
)
from sealer.kubefile.instructions import SCHEME_LOCAL

log = logging.getLogger(__name__)

APP_ROOT = "application/apps"
HELM, KUBE, SHELL = "helm", "kube", "shell"
MAX_REMOTE_BYTES = 512 * 1024 * 1024
METADATA_ONLY = (Arg, Env, Label, Maintainer, KubeVersion, AppCmds, AppEnv, Launch, Cmds)


def app_dir(name: str) -> str:
    return f"{APP_ROOT}/{name}"


def _walk(root: str, top: str) -> Iterator[tuple[str, bool]]:
    """Go ``filepath.Walk(top)`` order (lexical, depth first): ``(path, is_dir)``, ``top`` first.

    Paths are as Go would build them from ``top`` (``filepath.Join``); the disk is read under ``root``.
    """
    yield top, True
    for n in sorted(os.listdir(os.path.join(root, top))):
        p = os.path.normpath(os.path.join(top, n))
        full = os.path.join(root, p)
        if os.path.isdir(full) and not os.path.islink(full):
            yield from _walk(root, p)
        else:
            yield p, False


def _is_chart_root(path: str) -> bool:
    return all(os.path.exists(os.path.join(path, n)) for n in ("Chart.yaml", "values.yaml", "templates"))


def _is_helm(root: str, sources: Sequence[str]) -> bool:
    bits = 0
    for src in sources:
        full = os.path.join(root, src)
        if os.path.isdir(full):
            if _is_chart_root(full):
                return True
            for n in sorted(os.listdir(full)):
                if not os.path.isdir(os.path.join(full, n)):
                    bits |= _chart_bit(n)
        else:
            bits |= _chart_bit(src)
    return bits == 7


def _chart_bit(name: str) -> int:
    if name.endswith("Chart.yaml"):
        return 1
    if name.endswith("values.yaml"):
        return 2
    if name.endswith("templates"):
        return 4
    return 0


def _file_kind(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext == ".sh":
        return SHELL
    if ext in (".yaml", ".yml"):
        return KUBE
    return ""


def app_type(root: str, sources: Sequence[str]) -> str:
    """sealer's ``getApplicationType`` over source paths (relative to ``root``, the build context)."""
    if _is_helm(root, sources):
        return HELM
    kinds: list[str] = []
    for src in sources:
        if os.path.isdir(os.path.join(root, src)):
            kinds += [_file_kind(p) for p, is_dir in _walk(root, os.path.normpath(src)) if not is_dir]
        else:
            kinds.append(_file_kind(src))
    if "" in kinds:
        return ""
    if SHELL in kinds and KUBE not in kinds:
        return SHELL
    if KUBE in kinds and SHELL not in kinds:
        return KUBE
    return ""


def launch_files(root: str, name: str, kind: str, sources: Sequence[str]) -> list[str]:
    """sealer's ``getApplicationFiles`` (``strings.TrimPrefix(path, source)`` for directory sources)."""
    if not kind:
        return []
    if kind == HELM:
        return [name]
    out: list[str] = []
    for src in sources:
        if os.path.isdir(os.path.join(root, src)):
            out += [p[len(src):] if p.startswith(src) else p
                    for p, is_dir in _walk(root, os.path.normpath(src)) if not is_dir]
        else:
            out.append(os.path.basename(src))
        if kind == SHELL:
            return out
    return out


@dataclass
class AppLayer:
    """The files of one APP: archive entries under ``application/apps/NAME/`` and a content hash."""

    entries: dict[str, str | None]
    content_hash: str
    record: dict[str, Any]


def plan_app(app: App, context: Path, workdir: Path, stats: StatCache | None = None) -> AppLayer:
    """Resolve an APP's sources (local paths checked like COPY, remote URLs downloaded) and its record;
    ``stats``: the context's stat cache, as for COPY."""
    dest = app_dir(app.name)
    entries: dict[str, str | None] = {dest: None}
    h = hashlib.sha256(app.text.encode())
    judged: list[str] = []      # paths relative to the context (as sealer judges them), or downloads
    for src in app.sources:
        if src.startswith(SCHEME_LOCAL):
            rel = src[len(SCHEME_LOCAL):]
            copy = Copy(sources=(rel,), dest=dest, location=app.location)
            plan = plan_copy(copy, str(context), stats)
            h.update(plan.content_hash.encode())
            real = context / rel
            if real.is_dir():     # Docker COPY of a directory: its contents into the app directory
                inner = f"{dest}/{os.path.basename(os.path.normpath(rel))}"
                for arc, path in plan.entries.items():
                    if arc == inner:
                        continue
                    entries[dest + arc[len(inner):]] = path
            else:
                entries.update(plan.entries)
            judged.append(rel)
        else:
            fetched = _download(src, workdir, app.location)
            with open(fetched, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            entries[f"{dest}/{fetched.name}"] = str(fetched)
            judged.append(str(fetched))
    try:
        kind = app_type(str(context), judged)
        files = launch_files(str(context), app.name, kind, judged)
    except OSError as e:
        raise BuildError(f"{app.kind} {app.name}: {e}", app.location.file, app.location.line) from None
    record: dict[str, Any] = {"name": app.name}
    if kind:
        record["type"] = kind
    if files:
        record["files"] = files
    record["version"] = "v1"
    return AppLayer(entries, h.hexdigest(), record)


def _download(url: str, workdir: Path, loc: Location) -> Path:
    name = os.path.basename(urllib.parse.urlsplit(url).path) or "index"
    target_dir = workdir / f"remote-{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    try:
        from urllib.request import urlopen  # an https:// APP only (http.client, ssl, email: slow to import)

        with urlopen(url, timeout=60) as resp, open(target, "wb") as out:  # noqa: S310 - http(s) only
            total = 0
            while chunk := resp.read(1 << 20):
                total += len(chunk)
                if total > MAX_REMOTE_BYTES:
                    raise BuildError(f"APP: {_redact(url)} is larger than {MAX_REMOTE_BYTES >> 20} MiB", loc.file, loc.line)
                out.write(chunk)
    except OSError as e:
        raise BuildError(f"APP: download {_redact(url)}: {getattr(e, 'reason', None) or e}", loc.file,
                         loc.line) from None
    return target


def _redact(url: str) -> str:
    """``url`` without user:password (never in logs or errors)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


@dataclass
class AppState:
    """What the image records about apps, env and launch while the build walks the Kubefile."""

    applications: dict[str, dict[str, Any]] = field(default_factory=dict)   # name -> v1.Application JSON
    env: dict[str, str] = field(default_factory=dict)          # this Kubefile's ENV (sealer's global env)
    config_env: dict[str, str] = field(default_factory=dict)   # the image config's Env (base's + ENV)
    args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    author: str = ""
    app_names: list[str] = field(default_factory=list)
    launch_cmds: list[str] | None = None    # CMDS, when given
    inherited_app_names: list[str] = field(default_factory=list)

    @classmethod
    def from_base(cls, kubefile: Kubefile, base_extension: Any, base_config: Mapping[str, Any] | None) -> AppState:
        """Applications inherited from the FROM image (as sealer's ``processFrom``); config env inherited."""
        st = cls()
        if base_extension is not None:
            for a in base_extension.applications:
                if isinstance(a.get("name"), str):
                    st.applications[a["name"]] = dict(a)
            st.inherited_app_names = list(base_extension.app_names)
        cfg = (base_config or {}).get("config") or {}
        for item in cfg.get("Env") or []:
            if isinstance(item, str) and "=" in item:
                k, v = item.split("=", 1)
                st.config_env[k] = v
        check_apps(kubefile, list(st.applications))
        return st

    def record(self, step: Instruction) -> None:
        """A metadata-only instruction (no layer)."""
        if isinstance(step, Arg):
            self.args.update({k: v for k, v in step.pairs if v is not None})
        elif isinstance(step, Env):
            self.env.update(step.pairs)
            self.config_env.update(step.pairs)
        elif isinstance(step, Label):
            self.labels.update(step.pairs)
        elif isinstance(step, KubeVersion):
            self.labels["app.alpha.sealer.io/supported-kube-version"] = step.constraint
        elif isinstance(step, Maintainer):
            self.author = step.name
        elif isinstance(step, AppEnv):
            app = self.applications.setdefault(step.name, {"name": step.name, "version": "v1"})
            app["env"] = {**(app.get("env") or {}), **dict(step.pairs)}
            _reorder(app)
        elif isinstance(step, AppCmds):
            app = self.applications.setdefault(step.name, {"name": step.name, "version": "v1"})
            app["cmds"] = list(step.commands)
            _reorder(app)
        elif isinstance(step, Launch):
            self.app_names = list(step.apps)
        elif isinstance(step, Cmds):
            self.launch_cmds = list(step.commands)

    def add_app(self, app: App, record: dict[str, Any]) -> None:
        self.applications.pop(app.name, None)
        self.applications[app.name] = record
        if app.kind in ("CNI", "CSI"):
            prefix = "cluster.alpha.sealer.io/kube-cni" if app.kind == "CNI" else "cluster.alpha.sealer.io/kube-csi"
            self.labels[f"{prefix}-{app.name}"] = "true"

    def run_env(self) -> dict[str, str]:
        """The environment RUN sees: ARG values, then the config's Env (ENV wins, as in Docker)."""
        return {**self.args, **self.config_env}

    def check(self, kubefile: Kubefile) -> None:
        """sealer: an app without a detected type needs APPCMDS."""
        for app in kubefile.apps:
            rec = self.applications.get(app.name) or {}
            if not rec.get("type") and not rec.get("cmds"):
                raise BuildError(f"{app.kind} {app.name}: no app type detected (helm chart, all .yaml, or all .sh); "
                                 f"give its commands with APPCMDS {app.name} [\"...\"]",
                                 app.location.file, app.location.line)

    def launch(self, cmds: list[str], kubefile: Kubefile) -> tuple[list[str], list[str]]:
        """``(launch.cmds, launch.app_names)``.

        A Kubefile with LAUNCH or CMDS gets exactly its own launch, as sealer (``RawCmds``/``LaunchedAppNames``
        of this Kubefile only; the base's are not inherited). A Kubefile with CMDs keeps sealer-py's rule:
        ``cmds`` = the base image's CMD commands, then its own. A Kubefile with none of them keeps its base
        image's launch (sealer drops it; we keep it so ``FROM base`` + ``COPY`` still launches the base's apps).
        """
        if self.launch_cmds is not None:
            return list(self.launch_cmds), []
        if self.app_names:
            return [], list(self.app_names)
        if not kubefile.cmds:
            return cmds, list(self.inherited_app_names)
        return cmds, []


def _reorder(app: dict[str, Any]) -> None:
    """Keep the Go field order: name, type, files, version, env, cmds."""
    order = ("name", "type", "files", "version", "env", "cmds")
    items = {k: app[k] for k in order if k in app}
    app.clear()
    app.update(items)


def base_extension(base: Any) -> Any:
    """The FROM image's ``sealer.image.extension`` (an :class:`ImageExtension`), or ``None``."""
    if base is None:
        return None
    from sealer.interop import ImageExtension, keys

    text = (base.manifest.annotations or {}).get(keys.EXTENSION_ANNOTATION, "")
    if not text.strip():
        return None
    return ImageExtension.parse(text)


def as_copy_plan(layer: AppLayer) -> Any:
    from sealer.build.context import CopyPlan

    return CopyPlan(layer.entries, layer.content_hash)


def config_fields(labels: Mapping[str, str], state: AppState) -> dict[str, Any]:
    """The image config's ``config`` object: ``Labels``, and ``Env`` (``K=V``) when there is any."""
    out: dict[str, Any] = {"Labels": dict(labels)}
    if state.config_env:
        out["Env"] = [f"{k}={v}" for k, v in state.config_env.items()]
    return out


def image_list_key(opts: Any) -> str:
    """Content hash of ``--image-list``/``--ignored-image-list`` (part of the image-cache step's key)."""
    h = hashlib.sha256()
    for p in (getattr(opts, "image_list", None), getattr(opts, "ignored_image_list", None)):
        h.update(b"\0")
        if p is not None:
            try:
                h.update(Path(p).read_bytes())
            except OSError as e:
                raise BuildError(f"read image list {p}: {e.strerror}") from None
    return h.hexdigest()


def with_image_lists(found: Any, opts: Any) -> Any:
    """sealer's ``--image-list FILE`` (more images to cache) and ``--ignored-image-list FILE`` (images
    not to cache, by name) applied to a discovery result."""
    from sealer.discover import FoundImage, ImageSource
    from sealer.discover.imagelist import IgnoreList, read_list

    if opts.image_list is not None:
        have = {str(i.reference) for i in found.images}
        for entry in read_list(Path(opts.image_list), "--image-list"):
            if str(entry.reference) in have:
                continue
            have.add(str(entry.reference))
            found.images.append(FoundImage(entry.reference, entry.raw,
                                           [ImageSource("--image-list", entry.line, "")], False))
    if opts.ignored_image_list is not None:
        ignores = IgnoreList(e.reference for e in read_list(Path(opts.ignored_image_list), "--ignored-image-list",
                                                            default_tag=False))
        found.ignored.extend(i for i in found.images if ignores.matches(i.reference))
        found.images = [i for i in found.images if not ignores.matches(i.reference)]
    found.images.sort(key=lambda i: str(i.reference))
    return found


def app_of_images(images: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """reference -> the app whose files (``application/apps/NAME/...``) name it, for ``appName``."""
    out: dict[str, str] = {}
    for img in images:
        for src in img.get("sources") or []:
            text = str(src)
            if text.startswith(APP_ROOT + "/"):
                name = text[len(APP_ROOT) + 1:].split("/", 1)[0]
                if name:
                    out.setdefault(str(img.get("reference")), name)
                    break
    return out
