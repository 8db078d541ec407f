"""Run a build: parse → resolve base → steps (cache or execute) → backend stage → assemble → store.

Nothing becomes visible in the store until the very end: blobs are written as they are made (held by a lease
so a concurrent gc keeps them), and the tags are set last, atomically.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealer import __version__
from sealer.build import apps, multiarch
from sealer.build.cache import BuildCache, chain
from sealer.build.context import plan_copy
from sealer.build.layers import WrittenLayer, layer_diff_id, write_entries_layer, write_layer
from sealer.build.lite import StageResult, cache_stage
from sealer.build.options import BACKENDS, BuildOptions
from sealer.build.records import BuildResult, LayerRecord
from sealer.build.rootfs import WorkingRootfs, diff, snapshot
from sealer.build.statcache import StatCache
from sealer.digest import Digest
from sealer.errors import BuildError, ImageNotFound, UnsupportedError
from sealer.interop import detect, sealer_annotations
from sealer.kubefile import App, Arg, Cmd, Copy, Env, From, Instruction, Kubefile, Run, parse_file
from sealer.oci import labels
from sealer.oci import mediatypes as mt
from sealer.oci.assemble import image_config, image_index, image_manifest
from sealer.oci.labels import ImageRecord, images_label
from sealer.oci.model import Descriptor, Platform, host_platform
from sealer.progress import BuildReporter, LogReporter
from sealer.shield import shielded
from sealer.store import Lease, Store, StoredImage

log = logging.getLogger(__name__)


def _base_image(store: Store, base: From, platform: Platform, opts: BuildOptions, rep: BuildReporter) -> StoredImage | None:
    if base.is_scratch:
        return None
    ref = base.reference
    assert ref is not None
    try:
        return store.image(str(ref), platform)
    except ImageNotFound:
        pass
    rep.say(f"pulling base image {ref} ...")
    # imported here: a build from a stored base (or scratch) needs no network code
    from sealer.registry import pull

    stored = pull(store, str(ref), opts.registry(), platform=platform)
    return store.image(stored, platform)


def _base_cmds(base: StoredImage | None) -> tuple[list[str], str]:
    if base is None:
        return [], "scratch"
    info = detect(base.manifest, base.config)
    return list(info.cmds), str(info.format)


def build(opts: BuildOptions, store: Store, reporter: BuildReporter | None = None) -> BuildResult:
    """Build ``opts``'s Kubefile into ``store``; steps are reported to ``reporter`` (default: the ``sealer`` logger)."""
    t0 = time.monotonic()
    rep = reporter or LogReporter()
    if opts.backend not in BACKENDS:
        raise BuildError(f"unknown build type {opts.backend!r}; choose one of {', '.join(BACKENDS)}")
    if opts.backend != "lite" and opts.cluster_hooks is None:
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
    platforms = opts.platforms or [host_platform()]
    # ARG/--build-arg and ${ARCH}: one image per platform when a COPY names ${ARCH} (sealer/multiarch.py)
    kubefile = parse_file(kf_path, build_args=opts.build_args, arch=platforms[0].architecture)
    if multiarch.needs_split(kf_path, opts, platforms):
        return multiarch.build_each(opts, store, platforms, lambda o, s: build(o, s, reporter))
    kubefile_text = kf_path.read_bytes()
    cache = BuildCache(store)
    stats = StatCache.for_context(store.root / "cache" / "context-stat", str(context), trust=not opts.no_cache)
    workdir: Path | None = None
    rootfs: WorkingRootfs | None = None
    try:
        with shielded():  # a Ctrl-C cannot fall between creating the work dir and owning its cleanup
            workdir = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=store.root / "ingest"))
            rootfs = WorkingRootfs(store, workdir / "rootfs")
        with store.lease() as lease:
            return _build(opts, store, kubefile, kubefile_text, platforms, cache, rootfs, workdir, lease, rep, t0,
                          stats)
    finally:
        log.debug("context files: %d read, %d known by their stat", stats.reads, stats.hits)
        stats.save()   # what was read is recorded even when the build failed later
        with shielded():  # a second Ctrl-C must not leave the working rootfs behind
            if rootfs is not None:
                rootfs.cleanup()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class BuildState:
    """What the steps of one build share and change: the cache key chain, the layers and history so far, CMDs."""

    opts: BuildOptions
    store: Store
    cache: BuildCache
    rootfs: WorkingRootfs
    lease: Lease
    rep: BuildReporter
    key: str
    layers: list[LayerRecord] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    cmds: list[str] = field(default_factory=list)
    cached_steps: int = 0
    workdir: Path = Path()
    app_state: Any = None   # sealer.build.apps.AppState: ARG/ENV/LABEL/APP/LAUNCH/CMDS of sealer v0.9
    stats: StatCache = field(default_factory=StatCache)   # the context's stat cache (sealer.build.statcache)

    def record(self, desc: Descriptor, diff_id: Digest, created_by: str,
               annotations: dict[str, str] | None = None) -> LayerRecord:
        self.lease.add(desc.digest)
        rec = LayerRecord(desc, diff_id, created_by, annotations or {})
        self.layers.append(rec)
        return rec


def _on_cmd(st: BuildState, step: Instruction) -> None:
    assert isinstance(step, Cmd)
    st.cmds.extend(step.commands)   # JSON form: a list of shell commands (sealer's meaning)
    st.history.append(_hist(step.text, empty=True))


def _on_metadata(st: BuildState, step: Instruction) -> None:
    """ARG, ENV, LABEL, KUBEVERSION, APPCMDS, APPENV, LAUNCH, CMDS, MAINTAINER: recorded, no file changes."""
    st.app_state.record(step)
    st.history.append(_hist(step.text, empty=True))
    if isinstance(step, Env | Arg):
        st.key = chain(st.key, step.text)


def _on_app(st: BuildState, step: Instruction) -> None:
    """APP / CNI / CSI: the app's files under application/apps/NAME/, as a COPY would place them."""
    assert isinstance(step, App)
    app_layer = apps.plan_app(step, st.opts.context.resolve(), st.workdir, st.stats)
    st.app_state.add_app(step, app_layer.record)
    plan = apps.as_copy_plan(app_layer)
    _cached_or_made(st, step, chain(st.key, step.text, plan.content_hash), lambda: _copy_layer(st.store, plan.entries))


def _on_copy(st: BuildState, step: Instruction) -> None:
    assert isinstance(step, Copy)
    plan = plan_copy(step, str(st.opts.context.resolve()), st.stats)
    _cached_or_made(st, step, chain(st.key, step.text, plan.content_hash), lambda: _copy_layer(st.store, plan.entries))


def _on_run(st: BuildState, step: Instruction) -> None:
    assert isinstance(step, Run)
    if st.opts.cluster_hooks is not None:
        # on a build cluster a RUN acts on the cluster too: never taken from the cache, never a lite key
        hooks = st.opts.cluster_hooks
        _cached_or_made(st, step, chain(st.key, "RUN@cluster", step.text),
                        lambda: _layer_of(st.store, st.rootfs, lambda root: hooks.run_step(step, root)),
                        use_cache=False)
        return
    _cached_or_made(st, step, chain(st.key, step.text),
                    lambda: _run_layer(st.store, step, st.rootfs, st.rep, st.app_state.run_env()))


HANDLERS: dict[type[Instruction], Callable[[BuildState, Instruction], None]] = {
    Cmd: _on_cmd, Copy: _on_copy, Run: _on_run, App: _on_app,
    **{t: _on_metadata for t in apps.METADATA_ONLY},
}


def _cached_or_made(st: BuildState, step: Instruction, key: str, make: Callable[[], WrittenLayer | None],
                    use_cache: bool = True) -> None:
    """A step that makes a layer: taken from the build cache under ``key`` when there, else made and cached."""
    st.key = key
    hit = None if st.opts.no_cache or not use_cache else st.cache.get(key)
    if hit is not None:
        st.cached_steps += 1
        for desc, did, by in hit.layers:
            st.record(desc, did, by)
            st.rootfs.add_layer(desc)
        st.history.append(_hist(step.text, empty=not hit.layers))
        st.rep.say("  --> CACHED" + (f" {hit.layers[0][0].digest.short}" if hit.layers else " (no change)"))
        return
    made = make()
    recs: list[tuple[Descriptor, Digest, str]] = []
    if made is not None:
        st.record(made.descriptor, made.diff_id, step.text)
        st.rootfs.add_layer(made.descriptor)
        recs.append((made.descriptor, made.diff_id, step.text))
        st.rep.say(f"  --> {made.descriptor.digest.short} ({made.descriptor.size} bytes)")
    else:
        st.rep.say("  --> no file changes")
    st.history.append(_hist(step.text, empty=made is None))
    st.cache.put(key, recs)


def _start_from_base(st: BuildState, base: StoredImage, base_ref: str, platform: Platform) -> None:
    """Adopt the base image's layers (diff_ids computed where its config has none) and history."""
    store = st.store
    base_diff_ids = list((base.config.get("rootfs") or {}).get("diff_ids") or [])
    if len(base_diff_ids) != len(base.manifest.layers):
        base_diff_ids = [""] * len(base.manifest.layers)   # sealer v0.8 configs have none: computed below
    base_history = [h for h in base.config.get("history") or [] if not h.get("empty_layer")]
    for n, (desc, did) in enumerate(zip(base.manifest.layers, base_diff_ids, strict=True)):
        if not store.adopt(desc.digest):
            raise BuildError(f"base image {base_ref}: layer {desc.digest} is missing from the store "
                             "(run `sealer fsck`)")
        diff_id = Digest(did) if did else layer_diff_id(store, desc)
        by = str(base_history[n].get("created_by", "")) if len(base_history) == len(base_diff_ids) else ""
        st.layers.append(LayerRecord(_as_oci_layer(desc), diff_id, by or f"base layer {n + 1} ({base_ref})"))
        st.rootfs.add_layer(desc)
    st.history = list(base.config.get("history") or [])
    if len(base_history) != len(st.layers):   # keep history aligned with layers (OCI: non-empty entries = layers)
        st.history = [_hist(rec.created_by) for rec in st.layers]
    store.adopt(base.manifest.config.digest)
    st.key = chain("base", str(base.descriptor.digest), str(platform))


def _run_step(handler: Callable[[BuildState, Instruction], None], st: BuildState, step: Instruction) -> None:
    """Run one step; an OS failure (no space, read-only, I/O error) names the Kubefile line it happened in."""
    try:
        handler(st, step)
    except OSError as e:
        if isinstance(e, BrokenPipeError) and e.filename is None:
            raise
        cause = e.strerror or type(e).__name__
        where = f" ({e.filename})" if e.filename else ""
        raise BuildError(f"{step.text.split(maxsplit=1)[0]}: {cause.lower()}{where}", step.location.file,
                         step.location.line) from e


def _build(opts: BuildOptions, store: Store, kubefile: Kubefile, kubefile_text: bytes, platforms: list[Platform],
           cache: BuildCache, rootfs: WorkingRootfs, workdir: Path, lease: Lease, rep: BuildReporter,
           t0: float, stats: StatCache) -> BuildResult:
    base = _base_image(store, kubefile.base, platforms[0], opts, rep)
    base_cmds, base_format = _base_cmds(base)
    st = BuildState(opts, store, cache, rootfs, lease, rep, chain("scratch"), cmds=list(base_cmds), workdir=workdir,
                    app_state=apps.AppState.from_base(kubefile, apps.base_extension(base),
                                                      base.config if base else None),
                    stats=stats)
    if base is not None:
        _start_from_base(st, base, kubefile.base.image, platforms[0])
    steps = [s for s in kubefile.steps if not isinstance(s, From)]
    total = len(steps) + 1
    rep.say(f"STEP 1/{total}: {kubefile.base.text}" + (f" ({base_format})" if base is not None else ""))
    for n, step in enumerate(steps, start=2):
        rep.say(f"STEP {n}/{total}: {step.text}")
        handler = HANDLERS.get(type(step))
        if handler is None:
            raise BuildError(f"{type(step).__name__}: this build cannot run it", step.location.file, step.location.line)
        _run_step(handler, st, step)
    # the Kubefile itself travels in the rootfs (provenance)
    kf_layer = _bytes_layer(store, workdir, "Kubefile", kubefile_text)
    st.record(kf_layer.descriptor, kf_layer.diff_id, "sealer: Kubefile")
    st.history.append(_hist("sealer: Kubefile"))
    rootfs.add_layer(kf_layer.descriptor)
    st.key = chain(st.key, "KUBEFILE", kf_layer.descriptor.digest.hex)

    kube_version = _kube_version(base)
    st.app_state.check(kubefile)
    launch_cmds, launch_apps = st.app_state.launch(st.cmds, kubefile)
    extra: list[tuple[str, str]] = []
    if opts.cluster_hooks is not None:   # a cluster build: this Kubefile's commands run on the cluster now
        own = launch_cmds[len(base_cmds):] if launch_cmds[:len(base_cmds)] == base_cmds else launch_cmds
        extra = opts.cluster_hooks.before_cache(rootfs.ensure(), own)
    stage = cache_stage(opts, store, rootfs, cache, st.key, platforms, kube_version, rep, base, extra)
    for lrec in stage.layers:
        st.record(lrec.descriptor, lrec.diff_id, lrec.created_by, lrec.annotations)
        st.history.append(_hist(lrec.created_by))
    if stage.cached:
        st.cached_steps += 1
    total_steps = sum(1 for s in steps if isinstance(s, Copy | Run | App)) + 1
    config_labels = _config_labels(opts, launch_cmds, stage, kubefile_text, platforms,
                                   stage.kube_version or kube_version, base, base_format, kubefile.base.image)
    config_labels = {**st.app_state.labels, **config_labels}   # LABEL / KUBEVERSION / CNI / CSI
    created = _created(opts)
    annotations = _manifest_annotations(launch_cmds, stage.images, stage.kube_installer, created, st.app_state,
                                        launch_apps)
    final = _store_image(st, platforms, created, config_labels, annotations)
    for t in opts.tags:
        store.set_ref(t, final)
    return BuildResult(final.digest, [Store.normalize(t) for t in opts.tags], st.layers, st.cached_steps,
                       total_steps, stage.images, time.monotonic() - t0)


def _config_labels(opts: BuildOptions, cmds: list[str], stage: StageResult, kubefile_text: bytes,
                   platforms: list[Platform], kube_version: str | None, base: StoredImage | None, base_format: str,
                   base_ref: str) -> dict[str, str]:
    config_labels = {
        labels.LABEL_BUILD_TYPE: opts.backend,
        labels.LABEL_CMDS: json.dumps(cmds),
        labels.LABEL_IMAGES: images_label(stage.images),
        labels.LABEL_KUBEFILE: kubefile_text.decode("utf-8", "replace"),
        labels.LABEL_VERSION: __version__,
        labels.LABEL_TOOL: "sealer-py",
        labels.LABEL_PLATFORMS: json.dumps([str(p) for p in platforms]),
    }
    if kube_version:
        config_labels[labels.LABEL_KUBE_VERSION] = kube_version
    if base is not None:
        config_labels[labels.LABEL_BASE_FORMAT] = base_format
        config_labels[labels.LABEL_BASE_IMAGE] = f"{base_ref}@{base.descriptor.digest}"
    if stage.registry_config is not None:
        config_labels[labels.LABEL_REGISTRY_CONFIG] = json.dumps(stage.registry_config)
    return config_labels


def _store_image(st: BuildState, platforms: list[Platform], created: str, config_labels: dict[str, str],
                 annotations: dict[str, str]) -> Descriptor:
    """Assemble (oci.assemble) and store the config and manifest of every platform, and the index when there
    are several; returns the descriptor to tag."""
    layer_descs = [rec.descriptor.with_annotations(rec.annotations or None) for rec in st.layers]
    descs = []
    for p in platforms:
        cfg_bytes = image_config(created, p, config_labels, [rec.diff_id for rec in st.layers], st.history,
                                 env=st.app_state.config_env if st.app_state is not None else None)
        st.lease.add(st.store.put_bytes(cfg_bytes))
        raw = image_manifest(cfg_bytes, layer_descs, annotations).to_bytes()
        mdigest = st.store.put_bytes(raw)
        st.lease.add(mdigest)
        descs.append(Descriptor(mt.OCI_MANIFEST, mdigest, len(raw), None, p))
    if len(descs) == 1:
        return Descriptor(mt.OCI_MANIFEST, descs[0].digest, descs[0].size)
    raw = image_index(descs, annotations).to_bytes()
    final = Descriptor(mt.OCI_INDEX, st.store.put_bytes(raw), len(raw))
    st.lease.add(final.digest)
    return final


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
    v = labels.of_config(base.config).get(labels.LABEL_KUBE_VERSION)
    if v:
        return v
    return detect(base.manifest, base.config).kube_version


def _manifest_annotations(cmds: list[str], images: list[ImageRecord], kube_installer: bool, created: str,
                          app_state: Any = None, app_names: list[str] | None = None) -> dict[str, str]:
    ann = {mt.ANNOTATION_CREATED: created}
    pairs = [(str(i["reference"]), str(p)) for i in images for p in (i.get("platforms") or ["linux/amd64"])]
    ann.update(sealer_annotations(cmds=cmds, images=pairs, kube_installer=kube_installer,
                                  sealer_version=f"v{__version__}", app_names=app_names or (),
                                  env=app_state.env if app_state is not None else None,
                                  applications=list(app_state.applications.values()) if app_state else (),
                                  app_of=apps.app_of_images(images)))
    return ann


def _copy_layer(store: Store, entries: dict[str, str | None]) -> WrittenLayer | None:
    if not entries:
        return None
    return write_entries_layer(store, entries)


def _bytes_layer(store: Store, workdir: Path, name: str, data: bytes) -> WrittenLayer:
    d = workdir / f"file-{uuid.uuid4().hex}"
    d.mkdir()
    (d / name).write_bytes(data)
    os.chmod(d / name, 0o644)
    return write_layer(store, d, [name])


def _run_layer(store: Store, step: Run, rootfs: WorkingRootfs, rep: BuildReporter,
               env: dict[str, str] | None = None) -> WrittenLayer | None:
    # imported here: a cached RUN step (a no-op rebuild) loads no subprocess machinery
    from sealer.build.run import run_step

    return _layer_of(store, rootfs, lambda root: run_step(step, root, echo=rep.output, env=env))


def _layer_of(store: Store, rootfs: WorkingRootfs, run: Callable[[Path], None]) -> WrittenLayer | None:
    """What ``run`` changes in the working rootfs (snapshot and compare), as a layer; None when nothing."""
    root = rootfs.ensure()
    before = snapshot(root)
    run(root)
    after = snapshot(root)
    changed, deleted = diff(before, after)
    if not changed and not deleted:
        return None
    return write_layer(store, root, changed, deleted)
