"""Benchmark: COPY of a large context and no-op rebuilds, next to `tar -c | sha256sum` of the same context.

    python bench/build_cache.py            # BENCH_MB=1024 by default, BENCH_RUNS=5 no-op runs (median, worst)
Prints seconds and ratios (sealer / tar|sha256sum), all measured in the same run. Lower is better.

- cold: the first build (reads, hashes and writes the context).
- no-op, stat cache: the rebuild as it runs now (only files whose stat changed are read: none).
- no-op, re-hash: the same rebuild with the context's stat cache removed before each run, i.e. every COPY source
  read and hashed again (what every no-op rebuild did before the stat cache): the reference for the speed-up.
- build(): the build function alone, in a warm process (no interpreter start-up nor imports), both ways.
- `sealer --help`: the CLI start-up alone, for scale.

    BENCH_BASELINE_SRC=/path/to/other/checkout/src python bench/build_cache.py
also times the no-op rebuild (stat cache) of that tree's CLI, interleaved with this tree's, in the same run.
Both trees are byte-compiled first, as an installed package is.
"""

from __future__ import annotations

import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = int(os.environ.get("BENCH_MB", "1024"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))

IN_PROCESS = r"""
import shutil, statistics, sys, time
from pathlib import Path
from sealer.build.executor import build
from sealer.build.options import BuildOptions
from sealer.store import Store
ctx, root, runs, rehash = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
times = []
for _ in range(runs):
    if rehash:
        shutil.rmtree(root / "cache" / "context-stat", ignore_errors=True)
    import sealer.build.context as c, sealer.build.statcache as s
    c._process_stats = s.StatCache()   # no in-memory memo between runs either
    t = time.perf_counter()
    r = build(BuildOptions(context=ctx, tags=["bench:v1"], backend="lite", quiet=True), Store(root))
    times.append(time.perf_counter() - t)
    assert r.cached_steps >= 1, "the no-op rebuild must hit the layer cache"
print(statistics.median(times), max(times))
"""


def timed(argv: list[str], **kw: object) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t


def cpu_timed(argv: list[str], **kw: object) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run: CPU time is what a loaded machine disturbs least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(argv, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def runs(n: int, before: object, argv: list[str], **kw: object) -> tuple[float, float]:
    times = []
    for _ in range(n):
        if callable(before):
            before()
        times.append(timed(argv, **kw))
    return statistics.median(times), max(times)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="sealer-bench-"))
    try:
        ctx = base / "ctx"
        (ctx / "data").mkdir(parents=True)
        files = 16
        per = MB // files
        for i in range(files):
            with open(ctx / "data" / f"f{i}.bin", "wb") as f:
                f.write(os.urandom(per << 20))
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY data .\nCMD echo hi\n")
        root = base / "root"
        env = dict(os.environ, SEALER_ROOT=str(root))
        baseline = os.environ.get("BENCH_BASELINE_SRC")
        import sealer as pkg

        for tree in [Path(pkg.__file__).parent, *([Path(baseline) / "sealer"] if baseline else [])]:
            compileall.compile_dir(str(tree), quiet=1)
        sealer = [sys.executable, "-m", "sealer.cli.main"]
        build = [*sealer, "build", "-q", "-b", "lite", "-t", "bench:v1", str(ctx)]
        stat_dir = root / "cache" / "context-stat"

        def drop_stat_cache() -> None:
            shutil.rmtree(stat_dir, ignore_errors=True)

        time.sleep(1.1)   # the files settle (statcache.RACY_NS), as they have long done in a real context
        tar_t = timed(["bash", "-c", f"tar -C {ctx} -cf - . | sha256sum"])
        help_t = runs(RUNS, None, [*sealer, "--help"], env=env)
        first = timed(build, env=env)
        mine: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for _ in range(RUNS):   # with a baseline, interleaved: this tree's no-op rebuild, then the baseline's
            mine.append(cpu_timed(build, env=env))
            if baseline:
                theirs.append(cpu_timed(build, env=dict(env, PYTHONPATH=baseline)))
        noop = (statistics.median(w for w, _ in mine), max(w for w, _ in mine))
        noop_cpu = statistics.median(c for _, c in mine)
        noop_base = (statistics.median(w for w, _ in theirs), max(w for w, _ in theirs)) if theirs else None
        noop_base_cpu = statistics.median(c for _, c in theirs) if theirs else 0.0
        rehash = runs(RUNS, drop_stat_cache, build, env=env)
        fn: dict[bool, tuple[float, float]] = {}
        for rh in (False, True):
            out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(ctx), str(root), str(RUNS), "1" if rh else "0"],
                                 check=True, capture_output=True, text=True, env=env).stdout.split()
            fn[rh] = (float(out[0]), float(out[1]))
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"context: {MB} MiB in {files} files; no-op figures: median (worst) of {RUNS} runs")
        print(f"tar -c | sha256sum                  : {tar_t:7.3f} s")
        print(f"sealer --help (start-up alone)      : {help_t[0]:7.3f} s ({help_t[1]:.3f})")
        print(f"sealer build (COPY, cold)           : {first:7.3f} s   ratio {first / tar_t:5.2f}x")
        print(f"sealer build (no-op, stat cache)    : {noop[0]:7.3f} s ({noop[1]:.3f})   ratio {noop[0] / tar_t:5.2f}x"
              f"   CPU {noop_cpu:.3f} s")
        if noop_base is not None:
            print(f"  the same, baseline tree's CLI     : {noop_base[0]:7.3f} s ({noop_base[1]:.3f})   this tree / "
                  f"baseline {noop[0] / noop_base[0]:5.2f}   CPU {noop_base_cpu:.3f} s")
        print(f"sealer build (no-op, re-hash)       : {rehash[0]:7.3f} s ({rehash[1]:.3f})   ratio "
              f"{rehash[0] / tar_t:5.2f}x")
        print(f"build() no-op, stat cache           : {fn[False][0]:7.3f} s ({fn[False][1]:.3f})")
        print(f"build() no-op, re-hash              : {fn[True][0]:7.3f} s ({fn[True][1]:.3f})")
        print(f"speed-up of the no-op rebuild       : CLI {rehash[0] / noop[0]:4.1f}x, build() "
              f"{fn[True][0] / fn[False][0]:4.1f}x")
        print(f"peak RSS of any child               : {rss:7.0f} MB")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
