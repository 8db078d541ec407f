"""kill -9 rounds: builds, loads, tags, rmi and gc against one store, killed at random moments.

After every round: ``fsck`` must find the store consistent (no corrupt blob, no broken ref), and so must two
judges that are not ours: a walk of ``index.json`` recomputing every blob's sha256 in test code
(``helpers.ocioracle.check_layout``) and ``skopeo inspect`` of every surviving image; the image that no
operation touches must still be listed, and a fresh build must succeed. ``killed_mid_write`` counts kills that
landed while a blob was half-written in ``ingest/`` (seen just before the SIGKILL). ``run_kill_rounds`` returns the
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

from helpers.ocioracle import check_layout, ref_names

from sealer.store.fsck import fsck
from sealer.store.layout import Store

SEALER = [sys.executable, "-m", "sealer.cli.main"]
KEEP = "docker.io/library/keep:v1"


@dataclass
class KillTally:
    rounds: int = 0
    started: int = 0
    killed: int = 0
    killed_mid_write: int = 0   # kills while ingest/ held a partly written blob
    killed_mid_op: int = 0      # kills of a process holding a lease (ROOT/leases/<pid>-*): inside an operation
    completed: int = 0
    corrupt: int = 0            # rounds after which fsck found the store inconsistent
    oracle_bad: int = 0         # rounds after which the test's own layout walk or skopeo found a problem
    lost_keeper: int = 0        # rounds after which the untouched image was missing
    fresh_build_failed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.corrupt + self.oracle_bad + self.lost_keeper + self.fresh_build_failed


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


def partial_ingest(root: Path) -> bool:
    """True when ``ingest/`` holds a non-empty file: some blob is being written right now."""
    try:
        with os.scandir(root / "ingest") as it:
            return any(e.is_file(follow_symlinks=False) and e.stat().st_size > 0 for e in it)
    except FileNotFoundError:
        return False


def lease_holders(root: Path) -> set[int]:
    """PIDs that hold an operation lease right now (the store writes ``leases/<pid>-<id>.lease``)."""
    try:
        names = os.listdir(root / "leases")
    except FileNotFoundError:
        return set()
    return {int(n.split("-", 1)[0]) for n in names if n.split("-", 1)[0].isdigit()}


def independent_problems(root: Path) -> list[str]:
    """What judges other than our fsck say about the store: the test's layout walk and skopeo."""
    problems = check_layout(root)
    for name in ref_names(root):
        p = subprocess.run(["skopeo", "inspect", f"oci:{root}:{name}"], capture_output=True, text=True,
                           timeout=120, check=False)
        if p.returncode != 0:
            problems.append(f"skopeo inspect {name}: {p.stderr.strip()[-300:]}")
    return problems


def check_round(root: Path, tally: KillTally, what: str) -> None:
    store = Store(root)
    rep = fsck(store)
    if not rep.ok:
        tally.corrupt += 1
        tally.problems.append(f"{what}: fsck: {rep.corrupt_blobs} {rep.broken_refs}")
    other = independent_problems(root)
    if other:
        tally.oracle_bad += 1
        tally.problems.append(f"{what}: independent check: {other[:5]}")
    if KEEP not in {r.name for r in store.refs()}:
        tally.lost_keeper += 1
        tally.problems.append(f"{what}: keep:v1 lost")


def kill_mid_write(workdir: Path, root: Path, tally: KillTally, deadline: float = 120.0) -> bool:
    """One build of a large, incompressible RUN layer, SIGKILLed as soon as a blob is half-written in
    ``ingest/`` (polled, so the kill lands mid-write however slow the machine is). True when it did."""
    ctx = _ctx(workdir / "ctx", "midwrite", f"mid {time.time()}", 24)
    proc = _spawn(root, ["build", "-q", "-b", "lite", "-t", "mid:v1", str(ctx)])
    tally.started += 1
    end = time.monotonic() + deadline
    seen = False
    while time.monotonic() < end and proc.poll() is None:
        if partial_ingest(root):
            seen = True
            break
        time.sleep(0.005)
    if _kill(proc):
        tally.killed += 1
        tally.killed_mid_write += seen
    else:
        tally.completed += 1
    check_round(root, tally, "mid-write kill")
    return seen


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
        # wait (polling, generous deadline) until an operation is under way — one of ours holds a lease — or
        # all are done; then a random delay, so kills land at random points *inside* the operations
        pids = {p.pid for p in procs}
        end = time.monotonic() + 60
        while time.monotonic() < end and any(p.poll() is None for p in procs) and not lease_holders(root) & pids:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, max_delay))
        mid_write = partial_ingest(root)
        holders = lease_holders(root)
        for proc in procs:
            inside = proc.pid in holders
            if _kill(proc):
                tally.killed += 1
                tally.killed_mid_op += inside
                tally.killed_mid_write += mid_write
                mid_write = False
            else:
                tally.completed += 1
        check_round(root, tally, f"round {n}")
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
