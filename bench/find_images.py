"""Time ``find-images`` over the whole discovery corpus.

    .venv/bin/python bench/find_images.py [CORPUS_DIR] [--deep] [--parallel N] [--repeat R]

Prints, per case and in total: seconds, charts rendered, MB of YAML read (manifests + chart sources),
then seconds per chart and per MB of YAML, and how chart rendering scales with worker processes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from sealer.discover import discover

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def yaml_bytes(d: Path) -> tuple[int, int, int]:
    """(manifest bytes, chart bytes, number of charts)."""
    manifests = sum(p.stat().st_size for p in (d / "manifests").rglob("*") if p.suffix in (".yaml", ".yml")) \
        if (d / "manifests").is_dir() else 0
    charts_dir = d / "charts"
    charts = [p for p in charts_dir.iterdir() if (p / "Chart.yaml").is_file() or p.suffix == ".tgz"] \
        if charts_dir.is_dir() else []
    chart_bytes = sum(p.stat().st_size for c in charts for p in ([c] if c.is_file() else c.rglob("*"))
                      if p.is_file() and p.suffix in (".yaml", ".yml", ".tpl", ".tgz"))
    return manifests, chart_bytes, len(charts)


def time_case(d: Path, *, deep: bool, parallel: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        discover(d, deep=deep, parallel=parallel, kube_version="v1.33.0")
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--deep", action="store_true")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = sorted(p for p in args.corpus.iterdir() if p.is_dir())
    total_t = chart_t = manifest_t = 0.0
    total_mb = manifest_mb = 0.0
    n_charts = 0
    print(f"{'case':40} {'seconds':>8} {'charts':>6} {'YAML MB':>8}")
    for d in cases:
        m, c, n = yaml_bytes(d)
        t = time_case(d, deep=args.deep, parallel=args.parallel, repeat=args.repeat)
        mb = (m + c) / 1e6
        print(f"{d.name:40} {t:8.3f} {n:6d} {mb:8.3f}")
        total_t += t
        total_mb += mb
        n_charts += n
        if n:
            chart_t += t
        else:
            manifest_t += t
            manifest_mb += m / 1e6
    print(f"{'TOTAL':40} {total_t:8.3f} {n_charts:6d} {total_mb:8.3f}")
    if n_charts:
        print(f"seconds per chart (cases with charts, incl. worker start): {chart_t / n_charts:.3f}")
    if manifest_mb:
        print(f"seconds per MB of manifest YAML: {manifest_t / manifest_mb:.3f}")
    print(f"seconds per MB of YAML overall: {total_t / total_mb:.3f}")

    # All charts of the corpus in one rootfs: how rendering scales with worker processes.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "charts").mkdir()
        for d in cases:
            for c in (d / "charts").iterdir() if (d / "charts").is_dir() else []:
                if c.is_dir():  # copied: discovery does not follow symlinks leaving the root
                    shutil.copytree(c, root / "charts" / f"{d.name}-{c.name}", symlinks=True)
        if any((root / "charts").iterdir()):
            for workers in (1, 2, 4):
                t = time_case(root, deep=args.deep, parallel=workers, repeat=args.repeat)
                print(f"all {n_charts} charts in one rootfs, {workers} worker(s): {t:.3f}s ({t / n_charts:.3f}s/chart)")


if __name__ == "__main__":
    main()
