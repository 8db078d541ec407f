"""kill -9 rounds: builds, loads, tags, rmi and gc against one store, killed at random moments.

After every round: ``fsck`` must find the store consistent (no corrupt blob, no broken ref), the image that no
operation touches must still be listed, and a fresh build must succeed. ``run_kill_rounds`` returns the
figures; ``bench/stress.py`` runs 100 rounds, ``test_kill9.py`` a few.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sealer.store.fsck import fsck
from sealer.store.layout import Store

SEALER = [sys.executable, "-m", "sealer.cli.main"]
KEEP = "docker.io/library/keep:v1"


@dataclass
class KillTally:
    rounds: int = 0
    started: int = 0
    killed: int = 0
    completed: int = 0
    corrupt: int = 0            # rounds after which fsck found the store inconsistent
    lost_keeper: int = 0        # rounds after which the untouched image was missing
    fresh_build_failed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.corrupt + self.lost_keeper + self.fresh_build_failed


def _ctx(base: Path, name: str, payload: str, run_mb: int) -> Path:
    ctx = base / name
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "f.txt").write_text(payload)
    run = f"RUN head -c {run_mb}M /dev/urandom > r.bin\n" if run_mb else ""
    (ctx / "Kubefile").write_text(f"FROM scratch\nCOPY f.txt .\n{run}CMD echo hi\n")
    return ctx


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEALER_ROOT=str(root))
    return subprocess.run([*SEALER, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def _spawn(root: Path, args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SEALER_ROOT=str(root))
    return subprocess.Popen([*SEALER, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(p: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the process (and its RUN children, one session) if still running; True when it was."""
    running = p.poll() is None
    if running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    return running


def setup(workdir: Path) -> tuple[Path, Path]:
    """A store with the untouched ``keep:v1`` and an archive for the loads. Returns (store root, archive)."""
    root = workdir / "store"
    other = workdir / "other"
    for r, tag in ((root, "keep:v1"), (other, "loaded:v1")):
        p = _run(r, "build", "-q", "-b", "lite", "-t", tag, str(_ctx(workdir, f"ctx-{tag}", tag, 2)))
        if p.returncode != 0:
            raise RuntimeError(f"setup build {tag}: {p.stderr}")
    archive = workdir / "loaded.tar"
    p = _run(other, "save", "-o", str(archive), "loaded:v1")
    if p.returncode != 0:
        raise RuntimeError(f"setup save: {p.stderr}")
    return root, archive


def run_kill_rounds(workdir: Path, rounds: int, seed: int = 0, max_delay: float = 1.5) -> KillTally:
    rng = random.Random(seed)
    root, archive = setup(workdir)
    tally = KillTally()
    for n in range(rounds):
        tally.rounds += 1
        ops: list[list[str]] = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["build", "build", "load", "tag", "rmi", "gc"])
            if kind == "build":
                ctx = _ctx(workdir / "ctx", f"r{n}-{len(ops)}", f"{n}-{rng.random()}", rng.choice([0, 4, 16]))
                ops.append(["build", "-q", "-b", "lite", "-t", f"b{n % 5}:v1", str(ctx)])
            elif kind == "load":
                ops.append(["load", "-i", str(archive)])
            elif kind == "tag":
                ops.append(["tag", "keep:v1", f"t{rng.randrange(4)}:v1"])
            elif kind == "rmi":
                ops.append(["rmi", rng.choice(["t0:v1", "t1:v1", "b0:v1", "b1:v1", "loaded:v1"])])
            else:
                ops.append(["gc"])
        procs = [_spawn(root, op) for op in ops]
        tally.started += len(procs)
        time.sleep(rng.uniform(0.0, max_delay))
        for proc in procs:
            if _kill(proc):
                tally.killed += 1
            else:
                tally.completed += 1
        store = Store(root)
        rep = fsck(store)
        if not rep.ok:
            tally.corrupt += 1
            tally.problems.append(f"round {n}: fsck: {rep.corrupt_blobs} {rep.broken_refs}")
        if KEEP not in {r.name for r in store.refs()}:
            tally.lost_keeper += 1
            tally.problems.append(f"round {n}: keep:v1 lost")
        fresh = _ctx(workdir / "ctx", f"fresh{n}", f"fresh {n} {rng.random()}", 0)
        p = _run(root, "build", "-q", "-b", "lite", "-t", "fresh:v1", str(fresh))
        if p.returncode != 0:
            tally.fresh_build_failed += 1
            tally.problems.append(f"round {n}: fresh build failed: {p.stderr.strip()[-300:]}")
    final = _run(root, "fsck", "--json")
    if final.returncode != 0:
        tally.corrupt += 1
        tally.problems.append(f"final sealer fsck: {final.stdout[-500:]}")
    return tally
