"""Run a build: parse → resolve base → steps (cache or execute) → backend stage → assemble → store.

Nothing becomes visible in the store until the very end: blobs are written as they are made (held by a lease
so a concurrent gc keeps them), and the tags are set last, atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealer import __version__, imagemeta
from sealer.build.cache import BuildCache, chain
from sealer.build.context import plan_copy
from sealer.build.layers import WrittenLayer, layer_diff_id, write_layer
from sealer.build.options import BACKENDS, BuildOptions
from sealer.build.rootfs import WorkingRootfs, diff, snapshot
from sealer.build.run import run_step
from sealer.digest import Digest
from sealer.errors import BuildError, SealerError, UnsupportedError
from sealer.kubefile import Cmd, Copy, From, Kubefile, Run, parse_file
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, Platform, canonical_json, host_platform
from sealer.plaintext import escape_controls
from sealer.shield import shielded
from sealer.store import Lease, Store, StoredImage


@dataclass
class LayerRecord:
    descriptor: Descriptor
    diff_id: Digest
    created_by: str
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildResult:
    digest: Digest                  # of the manifest (one platform) or index
    tags: list[str]
    layers: list[LayerRecord]
    cached_steps: int
    total_steps: int
    images: list[dict[str, Any]]
    seconds: float


class Reporter:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def say(self, msg: str) -> None:
        if not self.quiet:
            sys.stderr.write(escape_controls(msg) + "\n")
            sys.stderr.flush()

    def warn(self, msg: str) -> None:
        """Warnings are shown even with --quiet."""
        sys.stderr.write("WARNING: " + escape_controls(msg) + "\n")
        sys.stderr.flush()


def _base_image(store: Store, base: From, platform: Platform, opts: BuildOptions, rep: Reporter) -> StoredImage | None:
    if base.is_scratch:
        return None
    ref = base.reference
    assert ref is not None
    try:
        return store.image(str(ref), platform)
    except SealerError as e:
        if "no such image" not in str(e):
            raise
    rep.say(f"pulling base image {ref} ...")
    try:
        from sealer.registry import pull
    except ImportError as e:  # pragma: no cover - registry client missing from this build
        raise UnsupportedError(f"pull base image {ref}: registry client unavailable ({e})") from None
    stored = pull(store, str(ref), opts.registry_options, platform=platform)
    return store.image(stored, platform)


def _base_cmds(base: StoredImage | None) -> tuple[list[str], str]:
    if base is None:
        return [], "scratch"
    try:
        from sealer.interop import detect

        info = detect(base.manifest, base.config)
        return list(info.cmds), str(info.format)
    except ImportError:
        return imagemeta.cmds(base.config), "sealer-py"


def build(opts: BuildOptions, store: Store) -> BuildResult:
    t0 = time.monotonic()
    rep = Reporter(opts.quiet)
    if opts.backend not in BACKENDS:
        raise BuildError(f"unknown build type {opts.backend!r}; choose one of {', '.join(BACKENDS)}")
    if opts.backend != "lite":
        raise UnsupportedError(
            f"build type {opts.backend!r} needs nodes to run a cluster ({'Aliyun ECS hosts' if opts.backend == 'cloud' else 'docker containers'}), "
            "which this sealer-py build cannot start yet; use `-b lite` (no cluster needed)")
    if not opts.tags:
        raise BuildError("build needs a name: -t NAME:TAG")
    for t in opts.tags:
        Store.normalize(t)  # validate before doing any work
    context = opts.context.resolve()
    if not context.is_dir():
        raise BuildError(f"build context {opts.context} is not a directory")
    kf_path = opts.kubefile_path
    if not kf_path.is_file():
        raise BuildError(f"read Kubefile {kf_path}: no such file (use -f to name it)")
    kubefile = parse_file(kf_path)
    kubefile_text = kf_path.read_bytes()
    platforms = opts.platforms or [host_platform()]
    cache = BuildCache(store)
    workdir: Path | None = None
    rootfs: WorkingRootfs | None = None
    try:
        with shielded():  # a Ctrl-C cannot fall between creating the work dir and owning its cleanup
            workdir = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=store.root / "ingest"))
            rootfs = WorkingRootfs(store, workdir / "rootfs")
        with store.lease() as lease:
            return _build(opts, store, kubefile, kubefile_text, platforms, cache, rootfs, workdir, lease, rep, t0)
    finally:
        with shielded():  # a second Ctrl-C must not leave the working rootfs behind
            if rootfs is not None:
                rootfs.cleanup()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)


def _record(lease: Lease, layers: list[LayerRecord], desc: Descriptor, diff_id: Digest, created_by: str,
            annotations: dict[str, str] | None = None) -> LayerRecord:
    lease.add(desc.digest)
    rec = LayerRecord(desc, diff_id, created_by, annotations or {})
    layers.append(rec)
    return rec


def _build(opts: BuildOptions, store: Store, kubefile: Kubefile, kubefile_text: bytes, platforms: list[Platform],
           cache: BuildCache, rootfs: WorkingRootfs, workdir: Path, lease: Lease, rep: Reporter,
           t0: float) -> BuildResult:
    base = _base_image(store, kubefile.base, platforms[0], opts, rep)
    base_cmds, base_format = _base_cmds(base)
    layers: list[LayerRecord] = []
    history: list[dict[str, Any]] = []
    if base is not None:
        base_diff_ids = list((base.config.get("rootfs") or {}).get("diff_ids") or [])
        if len(base_diff_ids) != len(base.manifest.layers):
            base_diff_ids = [""] * len(base.manifest.layers)   # sealer v0.8 configs have none: computed below
        base_history = [h for h in base.config.get("history") or [] if not h.get("empty_layer")]
        for n, (desc, did) in enumerate(zip(base.manifest.layers, base_diff_ids, strict=True)):
            if not store.adopt(desc.digest):
                raise BuildError(f"base image {kubefile.base.image}: layer {desc.digest} is missing from the store "
                                 "(run `sealer fsck`)")
            odesc = _as_oci_layer(desc)
            diff_id = Digest(did) if did else layer_diff_id(store, desc)
            by = str(base_history[n].get("created_by", "")) if len(base_history) == len(base_diff_ids) else ""
            layers.append(LayerRecord(odesc, diff_id, by or f"base layer {n + 1} ({kubefile.base.image})"))
            rootfs.add_layer(desc)
        history = list(base.config.get("history") or [])
        if len(base_history) != len(layers):   # keep history aligned with layers (OCI: non-empty entries = layers)
            history = [_hist(rec.created_by) for rec in layers]
        store.adopt(base.manifest.config.digest)
        key = chain("base", str(base.descriptor.digest), str(platforms[0]))
    else:
        key = chain("scratch")
    steps = [s for s in kubefile.steps if not isinstance(s, From)]
    total = len(steps) + 1
    cached_steps = 0
    cmds: list[str] = list(base_cmds)
    rep.say(f"STEP 1/{total}: {kubefile.base.text}" + (f" ({base_format})" if base is not None else ""))
    for n, step in enumerate(steps, start=2):
        rep.say(f"STEP {n}/{total}: {step.text}")
        if isinstance(step, Cmd):
            cmds.append(step.shell_line)
            history.append(_hist(step.text, empty=True))
            continue
        if isinstance(step, Copy):
            plan = plan_copy(step, str(opts.context.resolve()))
            key = chain(key, step.text, plan.content_hash)
        else:
            assert isinstance(step, Run)
            key = chain(key, step.text)
        hit = None if opts.no_cache else cache.get(key)
        if hit is not None:
            cached_steps += 1
            for desc, did, by in hit.layers:
                _record(lease, layers, desc, did, by)
                rootfs.add_layer(desc)
            history.append(_hist(step.text, empty=not hit.layers))
            rep.say("  --> CACHED" + (f" {hit.layers[0][0].digest.short}" if hit.layers else " (no change)"))
            continue
        made: WrittenLayer | None
        if isinstance(step, Copy):
            made = _copy_layer(store, plan.entries)
        else:
            made = _run_layer(store, step, rootfs, opts.quiet)
        recs: list[tuple[Descriptor, Digest, str]] = []
        if made is not None:
            _record(lease, layers, made.descriptor, made.diff_id, step.text)
            rootfs.add_layer(made.descriptor)
            recs.append((made.descriptor, made.diff_id, step.text))
            rep.say(f"  --> {made.descriptor.digest.short} ({made.descriptor.size} bytes)")
        else:
            rep.say("  --> no file changes")
        history.append(_hist(step.text, empty=made is None))
        cache.put(key, recs)
    # the Kubefile itself travels in the rootfs (provenance)
    kf_layer = _bytes_layer(store, workdir, "Kubefile", kubefile_text)
    _record(lease, layers, kf_layer.descriptor, kf_layer.diff_id, "sealer: Kubefile")
    history.append(_hist("sealer: Kubefile"))
    rootfs.add_layer(kf_layer.descriptor)
    key = chain(key, "KUBEFILE", kf_layer.descriptor.digest.hex)

    kube_version = _kube_version(base)
    from sealer.build.lite import cache_stage

    stage = cache_stage(opts, store, rootfs, cache, key, platforms, kube_version, rep, base)
    for lrec in stage.layers:
        _record(lease, layers, lrec.descriptor, lrec.diff_id, lrec.created_by, lrec.annotations)
        history.append(_hist(lrec.created_by))
    images = stage.images
    kube_version = stage.kube_version or kube_version
    if stage.cached:
        cached_steps += 1
    total_steps = sum(1 for s in steps if not isinstance(s, Cmd)) + 1

    labels = {
        imagemeta.LABEL_BUILD_TYPE: opts.backend,
        imagemeta.LABEL_CMDS: json.dumps(cmds),
        imagemeta.LABEL_IMAGES: json.dumps(images),
        imagemeta.LABEL_KUBEFILE: kubefile_text.decode("utf-8", "replace"),
        imagemeta.LABEL_VERSION: __version__,
        imagemeta.LABEL_TOOL: "sealer-py",
        imagemeta.LABEL_PLATFORMS: json.dumps([str(p) for p in platforms]),
    }
    if kube_version:
        labels[imagemeta.LABEL_KUBE_VERSION] = kube_version
    if base is not None:
        labels[imagemeta.LABEL_BASE_FORMAT] = base_format
        labels[imagemeta.LABEL_BASE_IMAGE] = f"{kubefile.base.image}@{base.descriptor.digest}"
    if stage.registry_config is not None:
        labels[imagemeta.LABEL_REGISTRY_CONFIG] = json.dumps(stage.registry_config)
    created = _created(opts)
    annotations = _manifest_annotations(cmds, images, stage.kube_installer, created)
    descs = []
    for p in platforms:
        config = {
            "created": created,
            "architecture": p.architecture,
            "os": p.os,
            **({"variant": p.variant} if p.variant else {}),
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [str(rec.diff_id) for rec in layers]},
            "history": history,
        }
        cfg_bytes = canonical_json(config)
        cfg_digest = store.put_bytes(cfg_bytes)
        lease.add(cfg_digest)
        manifest = Manifest(
            config=Descriptor(mt.OCI_CONFIG, cfg_digest, len(cfg_bytes)),
            layers=tuple(rec.descriptor.with_annotations(rec.annotations or None) for rec in layers),
            annotations=annotations,
        )
        raw = manifest.to_bytes()
        mdigest = store.put_bytes(raw)
        lease.add(mdigest)
        descs.append(Descriptor(mt.OCI_MANIFEST, mdigest, len(raw), None, p))
    if len(descs) == 1:
        final = Descriptor(mt.OCI_MANIFEST, descs[0].digest, descs[0].size)
    else:
        idx = Index(tuple(descs), annotations=annotations)
        raw = idx.to_bytes()
        final = Descriptor(mt.OCI_INDEX, store.put_bytes(raw), len(raw))
        lease.add(final.digest)
    for t in opts.tags:
        store.set_ref(t, final)
    return BuildResult(final.digest, [Store.normalize(t) for t in opts.tags], layers, cached_steps, total_steps,
                       images, time.monotonic() - t0)


def _as_oci_layer(desc: Descriptor) -> Descriptor:
    """Docker layer media types name the same bytes as OCI's; our manifests are OCI throughout."""
    mapping = {mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP, "application/vnd.docker.image.rootfs.diff.tar": mt.OCI_LAYER}
    if desc.media_type in mapping:
        return Descriptor(mapping[desc.media_type], desc.digest, desc.size, desc.annotations, None, desc.urls)
    return desc


def _hist(text: str, empty: bool = False) -> dict[str, Any]:
    h: dict[str, Any] = {"created_by": text, "comment": "sealer-py"}
    if empty:
        h["empty_layer"] = True
    return h


def _created(opts: BuildOptions) -> str:
    epoch = opts.source_date_epoch
    if epoch is None and os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        when = datetime.fromtimestamp(epoch, UTC) if epoch is not None else datetime.now(UTC)
    except (OverflowError, ValueError, OSError):
        raise BuildError(f"SOURCE_DATE_EPOCH={epoch}: out of range (seconds since 1970, before year 10000)") from None
    if when.year > 9999:
        raise BuildError(f"SOURCE_DATE_EPOCH={epoch}: out of range (seconds since 1970, before year 10000)")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _kube_version(base: StoredImage | None) -> str | None:
    if base is None:
        return None
    v = imagemeta.labels(base.config).get(imagemeta.LABEL_KUBE_VERSION)
    if v:
        return v
    try:
        from sealer.interop import detect

        return detect(base.manifest, base.config).kube_version
    except ImportError:
        return None


def _manifest_annotations(cmds: list[str], images: list[dict[str, Any]], kube_installer: bool,
                          created: str) -> dict[str, str]:
    ann = {mt.ANNOTATION_CREATED: created}
    try:
        from sealer.interop import sealer_annotations
    except ImportError:
        return ann
    pairs = [(str(i["reference"]), str(p)) for i in images for p in (i.get("platforms") or ["linux/amd64"])]
    ann.update(sealer_annotations(cmds=cmds, images=pairs, kube_installer=kube_installer,
                                  sealer_version=f"v{__version__}"))
    return ann


def _copy_layer(store: Store, entries: dict[str, str | None]) -> WrittenLayer | None:
    if not entries:
        return None
    from sealer.build.layers import write_entries_layer

    return write_entries_layer(store, entries)


def _bytes_layer(store: Store, workdir: Path, name: str, data: bytes) -> WrittenLayer:
    d = workdir / f"file-{uuid.uuid4().hex}"
    d.mkdir()
    (d / name).write_bytes(data)
    os.chmod(d / name, 0o644)
    return write_layer(store, d, [name])


def _run_layer(store: Store, step: Run, rootfs: WorkingRootfs, quiet: bool) -> WrittenLayer | None:
    root = rootfs.ensure()
    before = snapshot(root)
    run_step(step, root, quiet=quiet)
    after = snapshot(root)
    changed, deleted = diff(before, after)
    if not changed and not deleted:
        return None
    return write_layer(store, root, changed, deleted)
