"""Benchmark: start-up of the light commands, next to `python -c pass` (the interpreter's own floor) in the same run.

    python bench/startup.py            # BENCH_RUNS=20 by default
    BENCH_BASELINE_SRC=/path/to/other/checkout/src python bench/startup.py   # also time that tree's commands


Each command is a fresh process (the installed `sealer` entry point, output piped): `sealer --help`, `sealer images`
on an empty store and on a store holding one image, `sealer inspect` of that small image (built here with
`-b lite`), `sealer --version`. Prints the median and worst wall time of each, the ratio of its median to the
floor's, and the median CPU time (user + system) of the process, which a loaded machine disturbs less than wall
time; `python -c 'import click'` is shown too (the floor of any click-based CLI). Lower is better.

Both source trees are byte-compiled first, as an installed package is (this environment may set
PYTHONDONTWRITEBYTECODE, which would otherwise compile every edited module from source on every run).
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

import sealer

RUNS = int(os.environ.get("BENCH_RUNS", "20"))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="sealer-bench-startup-"))
    try:
        sealer_cmd = [sys.executable, "-m", "sealer.cli.main"]
        entry = Path(sys.executable).with_name("sealer")
        if entry.exists():  # what a user runs: the console script
            sealer_cmd = [sys.executable, str(entry)]
        baseline = os.environ.get("BENCH_BASELINE_SRC")
        for tree in [Path(sealer.__file__).parent, *([Path(baseline) / "sealer"] if baseline else [])]:
            compileall.compile_dir(str(tree), quiet=1)
        ctx = base / "ctx"
        ctx.mkdir()
        (ctx / "a.txt").write_text("a\n")
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nCMD echo hi\n")
        full = dict(os.environ, SEALER_ROOT=str(base / "full"))
        empty = dict(os.environ, SEALER_ROOT=str(base / "empty"))
        subprocess.run([*sealer_cmd, "build", "-q", "-b", "lite", "-t", "small:v1", str(ctx)], check=True,
                       stdout=subprocess.DEVNULL, env=full)
        subprocess.run([*sealer_cmd, "inspect", "small:v1"], check=True, stdout=subprocess.DEVNULL, env=full)
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [sys.executable, "-c", "pass"], empty),
            ("python -c 'import click' (a click CLI's floor)", [sys.executable, "-c", "import click"], empty),
            ("sealer --help", [*sealer_cmd, "--help"], empty),
            ("sealer images (empty store)", [*sealer_cmd, "images"], empty),
            ("sealer images (one image)", [*sealer_cmd, "images"], full),
            ("sealer inspect small:v1", [*sealer_cmd, "inspect", "small:v1"], full),
            ("sealer --version", [*sealer_cmd, "--version"], empty),
            ("sealer version", [*sealer_cmd, "version"], empty),
        ]
        if baseline:  # the same commands from another source tree (e.g. main before a change), same run
            cases += [(f"{name} [baseline]", argv, dict(env, PYTHONPATH=baseline))
                      for name, argv, env in cases[2:]]
        walls: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        cpus: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(RUNS):  # interleaved: a load spike on the shared machine hits every case alike
            for name, argv, env in cases:
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        floor = statistics.median(walls["python -c pass"])
        load = os.getloadavg()[0]
        print(f"start-up, {RUNS} runs each ({os.cpu_count()} CPUs, load average {load:.1f} at the end)")
        print(f"{'command':48} {'median s':>9} {'worst s':>8} {'x floor':>8} {'minus floor s':>14} {'CPU s':>7}")
        for name, xs in walls.items():
            med = statistics.median(xs)
            print(f"{name:48} {med:9.3f} {max(xs):8.3f} {med / floor:8.2f} {med - floor:14.3f} "
                  f"{statistics.median(cpus[name]):7.3f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
