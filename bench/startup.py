"""Benchmark: start-up of the light commands, next to `python -c pass` (the interpreter's own floor) in the same run.

    python bench/startup.py            # BENCH_RUNS=20 by default
    BENCH_BASELINE_SRC=/path/to/other/checkout/src python bench/startup.py   # also time that tree's commands


Each command is a fresh process (the installed `sealer` entry point, output piped): `sealer --help`, `sealer images`
on an empty store, `sealer inspect` of a small stored image (built here with `-b lite`), `sealer --version`. Prints
the median and worst wall time of each and the ratio of its median to the floor's; `python -c 'import click'` is
shown too (the floor of any click-based CLI). Lower is better.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "20"))


def timed(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="sealer-bench-startup-"))
    try:
        sealer = [sys.executable, "-m", "sealer.cli.main"]
        entry = Path(sys.executable).with_name("sealer")
        if entry.exists():  # what a user runs: the console script
            sealer = [sys.executable, str(entry)]
        ctx = base / "ctx"
        ctx.mkdir()
        (ctx / "a.txt").write_text("a\n")
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nCMD echo hi\n")
        full = dict(os.environ, SEALER_ROOT=str(base / "full"))
        empty = dict(os.environ, SEALER_ROOT=str(base / "empty"))
        subprocess.run([*sealer, "build", "-q", "-b", "lite", "-t", "small:v1", str(ctx)], check=True,
                       stdout=subprocess.DEVNULL, env=full)
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [sys.executable, "-c", "pass"], empty),
            ("python -c 'import click' (a click CLI's floor)", [sys.executable, "-c", "import click"], empty),
            ("sealer --help", [*sealer, "--help"], empty),
            ("sealer images (empty store)", [*sealer, "images"], empty),
            ("sealer inspect small:v1", [*sealer, "inspect", "small:v1"], full),
            ("sealer --version", [*sealer, "--version"], empty),
        ]
        baseline = os.environ.get("BENCH_BASELINE_SRC")
        if baseline:  # the same commands from another source tree (e.g. main before a change), same run
            cases += [(f"{name} [baseline]", argv, dict(env, PYTHONPATH=baseline))
                      for name, argv, env in cases[2:]]
        times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(RUNS):  # interleaved: a load spike on the shared machine hits every case alike
            for name, argv, env in cases:
                times[name].append(timed(argv, env))
        floor = statistics.median(times["python -c pass"])
        print(f"start-up, {RUNS} runs each ({os.cpu_count()} CPUs)")
        print(f"{'command':48} {'median s':>9} {'worst s':>8} {'x floor':>8} {'minus floor s':>14}")
        for name, xs in times.items():
            med = statistics.median(xs)
            print(f"{name:48} {med:9.3f} {max(xs):8.3f} {med / floor:8.2f} {med - floor:14.3f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
