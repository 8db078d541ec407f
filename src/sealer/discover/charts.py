"""Helm charts under ``charts/``: render with the real Helm engine and scan the output.

- a chart is a directory with ``Chart.yaml`` or a packaged ``.tgz``; vendored subcharts in its own
  ``charts/`` are rendered with it;
- values: the chart's defaults, overridden by ``charts/<name>.values.yaml`` when present (``<name>``
  is the directory name, the archive name without ``.tgz``, or the chart's own name);
- ``.Capabilities.KubeVersion`` is the base image's Kubernetes version when the caller knows it;
- dependencies declared in ``Chart.yaml`` but absent from ``charts/`` fail like ``helm install`` does;
- ``helm.sh/images`` (HIP-0015) entries whose ``condition`` holds are strict images; a Bitnami
  ``images.lock`` lists every image the chart *may* use, so its entries are extended (deep mode);
- ``helm.sh/hook: test`` pods are flagged: only ``helm test`` pulls them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sealer.discover.chartnotes import complain, library_message, no_workload_message
from sealer.discover.files import Warn, chart_kind, existing_file, walk
from sealer.discover.model import ImageSource
from sealer.discover.renderpool import RenderPool
from sealer.discover.safeyaml import load_plain
from sealer.discover.scanner import scan_rendered
from sealer.errors import DiscoveryError
from sealer.progress import task


@dataclass(frozen=True)
class ChartRef:
    rel: str            # "charts/redis" or "charts/redis-17.0.0.tgz"
    path: Path
    values_file: str | None


@dataclass(frozen=True)
class ChartHit:
    raw: str
    source: ImageSource
    extended: bool
    helm_test: bool


def find_charts(root: Path, warn: Warn, under: str = "charts") -> list[ChartRef]:
    charts: list[ChartRef] = []
    for rel, real, _what in walk(root, under, warn, want=chart_kind):
        stem = rel.rsplit("/", 1)[-1].removesuffix(".tgz")
        parent = rel.rsplit("/", 1)[0]
        values = f"{parent}/{stem}.values.yaml"
        charts.append(ChartRef(rel, real, values if existing_file(root, values, warn) else None))
    return charts


def _values_for(root: Path, chart: ChartRef, warn: Warn) -> tuple[dict[str, Any] | None, str]:
    if chart.values_file is None:
        return None, "(values default)"
    path = existing_file(root, chart.values_file, warn)
    assert path is not None
    with open(path, "rb") as fh:
        data = load_plain(fh, chart.values_file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DiscoveryError("read values override: expected a mapping", chart.values_file, 1)
    return data, f"(values {chart.values_file})"


def _by_chart_name(root: Path, chart: ChartRef, chart_name: str, warn: Warn) -> ChartRef:
    if chart.values_file is not None or not chart_name:
        return chart
    parent = chart.rel.rsplit("/", 1)[0]
    values = f"{parent}/{chart_name}.values.yaml"
    return replace(chart, values_file=values) if existing_file(root, values, warn) else chart


def render_charts(root: Path, charts: list[ChartRef], *, kube_version: str | None, deep: bool,
                  parallel: int, timeout: float, warn: Warn,
                  strict: bool = False) -> tuple[list[ChartHit], list[DiscoveryError]]:
    """Render every chart (in parallel worker processes): candidates in chart order, and every chart's error
    (one failing chart does not stop the others, so a run reports them all)."""
    if not charts:
        return [], []
    size = max(1, min(parallel, len(charts)))
    with task(f"rendering charts ({len(charts)})"), RenderPool(size, timeout) as pool, ThreadPoolExecutor(size) as ex:
        job: Callable[[ChartRef], list[ChartHit] | DiscoveryError] = lambda c: _guarded(  # noqa: E731
            root, c, pool, kube_version=kube_version, deep=deep, warn=warn, strict=strict)
        results = list(ex.map(job, charts))
    hits = [hit for r in results if not isinstance(r, DiscoveryError) for hit in r]
    return hits, [r for r in results if isinstance(r, DiscoveryError)]


def _guarded(root: Path, chart: ChartRef, pool: RenderPool, *, kube_version: str | None, deep: bool,
             warn: Warn, strict: bool) -> list[ChartHit] | DiscoveryError:
    try:
        return _one(root, chart, pool, kube_version=kube_version, deep=deep, warn=warn, strict=strict)
    except DiscoveryError as e:
        return e


def _one(root: Path, chart: ChartRef, pool: RenderPool, *, kube_version: str | None, deep: bool,
         warn: Warn, strict: bool) -> list[ChartHit]:
    values, how = _values_for(root, chart, warn)
    request = {"path": str(chart.path), "values": values, "kube_version": kube_version}
    answer = pool.render(request, f"render chart {chart.rel}", chart.rel)
    if answer.get("ok") and values is None:
        named = _by_chart_name(root, chart, str(answer.get("chart") or ""), warn)
        if named is not chart:  # override named after the chart, not the directory
            chart = named
            values, how = _values_for(root, chart, warn)
            answer = pool.render({**request, "values": values}, f"render chart {chart.rel}", chart.rel)
    if not answer.get("ok"):
        name = answer.get("chart") or chart.rel
        raise DiscoveryError(f"render chart {name}: {answer.get('error')}", chart.rel)
    if answer.get("library"):
        complain(library_message(chart.rel, str(answer.get("chart") or "")), chart.rel, strict=strict, warn=warn)
        return []
    manifests: dict[str, str] = answer["manifests"]
    hits = list(_scan_rendered(chart, how, manifests, deep=deep, warn=warn))
    if not any(not h.extended and not h.helm_test for h in hits):
        notes = manifests.get(f"{answer.get('chart')}/templates/NOTES.txt")
        complain(no_workload_message(chart.rel, how, notes), chart.rel, strict=strict, warn=warn)
    hits.extend(_annotated(chart, answer.get("annotations") or {}, answer.get("merged") or {}))
    if deep and answer.get("images_lock"):
        hits.extend(_images_lock(chart, str(answer["images_lock"])))
    return hits


def _scan_rendered(chart: ChartRef, how: str, manifests: dict[str, str], *, deep: bool,
                   warn: Warn) -> Iterator[ChartHit]:
    for template in sorted(manifests):
        text = manifests[template]
        if template.endswith(".txt") or not text.strip():
            continue
        origin = f"{chart.rel} {template}"
        try:
            for hit, number in scan_rendered(text, origin, deep=deep, warn=warn):
                detail = f"{how} {template}#{number} {hit.detail}" + (" (helm test)" if hit.helm_test else "")
                yield ChartHit(hit.raw, ImageSource(chart.rel, None, detail), hit.extended, hit.helm_test)
        except DiscoveryError as e:
            raise DiscoveryError(f"render chart {chart.rel}: template {template} rendered invalid YAML "
                                 f"(line {e.line}): {e.message}", chart.rel) from None


def _lookup(values: Any, path: str) -> tuple[bool, Any]:
    cur = values
    for part in path.strip().split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def condition_holds(values: dict[str, Any], condition: str) -> bool:
    """Helm's dependency-condition rule: the first path that resolves decides; none resolving means true."""
    for path in condition.split(","):
        if not path.strip():
            continue
        found, value = _lookup(values, path)
        if found:
            return bool(value)
    return True


def _annotated(chart: ChartRef, annotations: dict[str, Any], merged: dict[str, Any]) -> list[ChartHit]:
    text = annotations.get("helm.sh/images")
    if not isinstance(text, str) or not text.strip():
        return []
    origin = f"{chart.rel} Chart.yaml annotation helm.sh/images"
    entries = load_plain(text, origin)
    if not isinstance(entries, list):
        raise DiscoveryError("read helm.sh/images annotation: expected a list of {name, image, condition}",
                             f"{chart.rel}/Chart.yaml")
    hits: list[ChartHit] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
            continue
        condition = entry.get("condition")
        if isinstance(condition, str) and not condition_holds(merged, condition):
            continue
        label = entry.get("name") or entry["image"]
        hits.append(ChartHit(entry["image"].strip(),
                             ImageSource(chart.rel, None, f"(helm.sh/images annotation) {label}"), False, False))
    return hits


def _images_lock(chart: ChartRef, text: str) -> list[ChartHit]:
    data = load_plain(text, f"{chart.rel} images.lock")
    images = data.get("images") if isinstance(data, dict) else None
    hits: list[ChartHit] = []
    for entry in images if isinstance(images, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("image"), str):
            label = entry.get("name") or entry["image"]
            hits.append(ChartHit(entry["image"].strip(),
                                 ImageSource(chart.rel, None, f"(images.lock) {label} (extended)"), True, False))
    return hits
