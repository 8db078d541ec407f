"""``discover(root)``: every container image a rootfs needs, with where each one came from."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sealer.discover.files import existing_file, manifest_kind, walk
from sealer.discover.imagelist import IgnoreList, read_list
from sealer.discover.model import CHART_TIMEOUT, DiscoveryErrors, DiscoveryResult, FoundImage, ImageSource
from sealer.discover.settings import read_settings
from sealer.errors import DiscoveryError, ReferenceError_
from sealer.reference import parse

IMAGE_LIST = "manifests/imageList"
IGNORE_LIST = "manifests/imageList.ignore"
APPS_DIR = "application/apps"   # sealer v0.9: files of `APP name ...` (rootfs.GlobalManager.App().Root())


def _app_manifest_kind(name: str, real: Path) -> str | None:
    """YAML files of apps, not inside a chart (charts are rendered instead)."""
    if real.is_dir() and (real / "Chart.yaml").is_file():
        return None
    return manifest_kind(name, real)


class _Collector:
    """Normalises, validates and merges candidates; duplicates keep every source."""

    def __init__(self) -> None:
        self.images: dict[str, FoundImage] = {}
        self.tests: dict[str, FoundImage] = {}
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def add(self, raw: str, source: ImageSource, *, extended: bool, helm_test: bool = False) -> None:
        if "{{" in raw or "}}" in raw:
            self.warn(f"skip unrendered template {raw!r} at {source}")
            return
        try:
            ref = parse(raw)
        except ReferenceError_ as e:
            if not extended:
                self.warn(f"skip {source}: {e}")
            return
        table = self.tests if helm_test else self.images
        key = str(ref)
        found = table.get(key)
        if found is None:
            table[key] = FoundImage(ref, raw, [source], extended)
            return
        if source not in found.sources:
            found.sources.append(source)
        if found.extended and not extended:
            found.extended = False
            found.raw = raw


def discover(root: Path, *, deep: bool = False, kube_version: str | None = None, ignore: Iterable[str] = (),
             parallel: int = 4, include_helm_tests: bool = False,
             chart_timeout: float = CHART_TIMEOUT, strict: bool = False) -> DiscoveryResult:
    """Find the images of ``root`` (a rootfs or any directory with ``manifests/`` and/or ``charts/``).

    Sources: ``manifests/imageList``; every ``*.yaml``/``*.yml`` under ``manifests/`` (pod specs of
    every Kubernetes object); every chart under ``charts/`` rendered by the Helm engine
    (``charts/<name>.values.yaml`` overrides its defaults). ``manifests/imageList.ignore`` and
    ``ignore`` remove images. ``deep`` adds extended images (args, env, ConfigMaps, custom resources);
    a context enables it for its build with ``manifests/.sealer-discover.yaml`` holding ``deep: true``
    (see :mod:`sealer.discover.settings`). ``kube_version`` sets ``.Capabilities.KubeVersion``.
    Images of ``helm.sh/hook: test`` pods go to ``result.helm_tests`` unless ``include_helm_tests``.
    A library chart, or a chart that renders no workload, is a warning (``result.warnings``); ``strict``
    makes it an error.
    Symlinks leading outside ``root`` are not followed. Every manifest and chart is read even when
    others fail; failures raise :class:`DiscoveryError` (one) or :class:`DiscoveryErrors` (several, each
    with its file and the engine's message), once, at the end.
    """
    root = Path(os.path.realpath(root))
    if not root.is_dir():
        raise DiscoveryError("discover images: not a directory", str(root))
    col = _Collector()
    settings = read_settings(root, col.warn)
    deep = deep or settings.deep
    include_helm_tests = include_helm_tests or settings.helm_tests
    kube_version = kube_version or settings.kube_version
    strict = strict or settings.strict

    ignores = IgnoreList()
    for text in ignore:
        try:
            ignores.add(parse(text, default_tag=False))
        except ReferenceError_ as e:
            raise DiscoveryError(f"ignore image: {e}", "--ignore-image") from None
    ignore_file = existing_file(root, IGNORE_LIST, col.warn)
    if ignore_file is not None:
        for entry in read_list(ignore_file, IGNORE_LIST, default_tag=False):
            ignores.add(entry.reference)

    errors: list[DiscoveryError] = []  # every failure of the run, reported together at the end
    image_list = existing_file(root, IMAGE_LIST, col.warn)
    if image_list is not None:
        try:
            for entry in read_list(image_list, IMAGE_LIST):
                col.add(entry.raw, ImageSource(IMAGE_LIST, entry.line, ""), extended=False)
        except DiscoveryErrors as e:
            errors.extend(e.errors)
        except DiscoveryError as e:
            errors.append(e)

    # the YAML scanner (PyYAML) and the chart machinery load when there is YAML or a chart to read: a context
    # with only an imageList never loads them
    for rel, real, _what in walk(root, "manifests", col.warn, want=manifest_kind):
        from sealer.discover.scanner import scan_file

        try:
            for hit, number in scan_file(real, rel, deep=deep, warn=col.warn):
                col.add(hit.raw, ImageSource(rel, hit.line, hit.detail, number), extended=hit.extended,
                        helm_test=False)
        except DiscoveryError as e:
            errors.append(e)

    # sealer v0.9 apps (application/apps/NAME/): YAML files as manifests, chart apps rendered
    for rel, real, _what in walk(root, APPS_DIR, col.warn, want=_app_manifest_kind):
        from sealer.discover.scanner import scan_file

        try:
            for hit, number in scan_file(real, rel, deep=deep, warn=col.warn):
                col.add(hit.raw, ImageSource(rel, hit.line, hit.detail, number), extended=hit.extended,
                        helm_test=False)
        except DiscoveryError as e:
            errors.append(e)
    if any(os.path.lexists(root / d) for d in ("charts", APPS_DIR)):
        from sealer.discover.charts import find_charts, render_charts

        charts = find_charts(root, col.warn) + find_charts(root, col.warn, APPS_DIR)
        hits, chart_errors = render_charts(root, charts, kube_version=kube_version, deep=deep, parallel=parallel,
                                           timeout=chart_timeout, warn=col.warn, strict=strict)
        errors.extend(chart_errors)
        for ch in hits:
            col.add(ch.raw, ch.source, extended=ch.extended, helm_test=ch.helm_test and not include_helm_tests)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DiscoveryErrors(errors)

    images: list[FoundImage] = []
    ignored: list[FoundImage] = []
    for key in sorted(col.images):
        found = col.images[key]
        (ignored if ignores.matches(found.reference) else images).append(found)
    tests = [col.tests[k] for k in sorted(col.tests) if k not in col.images]
    return DiscoveryResult(images=images, ignored=ignored, helm_tests=tests, warnings=col.warnings)
