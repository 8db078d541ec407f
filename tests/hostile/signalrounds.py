"""Signals at random points of each stage (``make stress``): build RUN with background children, build COPY of
a large context, save, load, a looping kubeadm template, a looping chart, a slow-drip pull. Each round counts orphans (any process that
inherited the round's marker in its environment), partial files, store ref changes, wrong exit codes and slow
exits (over 2 s after the signal)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sealer.store.fsutil import force_rmtree

from .craft import put_image
from .test_bounded_templates import NESTED, make_rootfs
from .test_slow_registry import DripRegistry

SEALER = [sys.executable, "-m", "sealer.cli.main"]
GOLDEN = Path(__file__).parent.parent / "cluster" / "golden" / "Clusterfile"
STAGES = ("run", "copy", "save", "load", "template", "chart", "pull")
# signal delay upper bounds: short stages must be hit while they still run
MAX_DELAY = {"run": 3.0, "copy": 1.2, "save": 0.5, "load": 0.6, "template": 3.0, "chart": 3.0, "pull": 3.0}


@dataclass
class SignalTally:
    rounds: int = 0
    signalled: int = 0
    finished_first: int = 0
    committed_first: int = 0     # the signal came after the commit point (store consistent, image complete)
    orphans: int = 0
    partial_files: int = 0
    store_changes: int = 0
    wrong_exit: int = 0
    slow_exit: int = 0
    leftover_blobs: int = 0
    per_stage: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _marked(marker: str) -> list[int]:
    needle = f"SEALER_STRESS_MARK={marker}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if needle in Path(f"/proc/{d}/environ").read_bytes():
                state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    out.append(int(d))
        except OSError:
            continue
    return out


def _partials(*dirs: Path) -> list[str]:
    found = []
    for d in dirs:
        if d.exists():
            found += [str(p) for p in d.rglob("*") if ".partial" in p.name]
    return found


def _setup(stage: str, work: Path, store: Path, drip: DripRegistry | None) -> list[str]:
    """Prepare the stage; returns the sealer arguments that run it."""
    ctx = work / "ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    if stage == "run":
        (ctx / "Kubefile").write_text("FROM scratch\nRUN sleep 1000 & (sleep 1001 &); sleep 1002\n")
        return ["build", "-b", "lite", "--no-cache", "-t", "s:v1", str(ctx)]
    if stage == "copy":
        big = ctx / "big"
        if not big.exists():
            big.mkdir()
            for i in range(40):
                (big / f"f{i}").write_bytes(os.urandom(1 << 20))
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY big data\n")
        return ["build", "-b", "lite", "--no-cache", "-t", "c:v1", str(ctx)]
    if stage == "save":
        (work / "out").mkdir(parents=True, exist_ok=True)
        return ["save", "-o", str(work / "out" / "x.tar"), "big:v1"]
    if stage == "load":
        tar = work / "big.tar"
        if not tar.exists():
            subprocess.run([*SEALER, "--root", str(store), "save", "-o", str(tar), "big:v1"], check=True,
                           capture_output=True)
        return ["load", "-i", str(tar)]
    if stage == "chart":
        chart = work / "cctx" / "charts" / "loop"
        if not chart.exists():
            (chart / "templates").mkdir(parents=True)
            (chart / "Chart.yaml").write_text("apiVersion: v2\nname: loop\nversion: 0.1.0\n")
            (chart / "templates" / "x.yaml").write_text(
                "{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n")
        return ["find-images", str(work / "cctx")]
    if stage == "template":
        if not (work / "tpl").exists():
            make_rootfs(work / "tpl", NESTED)
        return ["kubeadm-config", str(work / "tpl" / "rootfs"), "-f", str(GOLDEN)]
    assert drip is not None
    return ["pull", f"{drip.host}/drip:v1"]


def run_signal_rounds(work: Path, rounds: int, seed: int) -> SignalTally:
    rng = random.Random(seed)
    t = SignalTally()
    store = work / "store"
    put_image(store, "big:v1", labels={"pad": os.urandom(20 << 20).hex()})
    (work / "out").mkdir(parents=True, exist_ok=True)
    drip = DripRegistry()
    server = threading.Thread(target=drip.serve_forever, daemon=True)
    server.start()
    try:
        for n in range(rounds):
            stage = STAGES[n % len(STAGES)]
            sig = rng.choice([signal.SIGINT, signal.SIGTERM])
            delay = rng.uniform(0.4, MAX_DELAY[stage])  # from 0.4 s: before that the interpreter may not run yet
            marker = f"{seed}-{n}"
            args = _setup(stage, work / stage, store, drip)
            before = (store / "index.json").read_bytes()
            blobs_before = {p.name for p in (store / "blobs" / "sha256").iterdir()}
            env = dict(os.environ, SEALER_STRESS_MARK=marker, SEALER_NET_WINDOW="600")
            p = subprocess.Popen([*SEALER, "--root", str(store), *args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=env, start_new_session=True)
            t.rounds += 1
            t.per_stage[stage] = t.per_stage.get(stage, 0) + 1
            try:
                try:
                    p.wait(timeout=delay)
                    t.finished_first += 1
                    signalled = False
                except subprocess.TimeoutExpired:
                    signalled = True
                    t0 = time.monotonic()
                    os.killpg(p.pid, sig) if sig == signal.SIGINT else os.kill(p.pid, sig)
                    try:
                        p.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                    took = time.monotonic() - t0
                    t.signalled += 1
                    want = 130 if sig == signal.SIGINT else 143
                    if p.returncode == 0:  # the command was already over: the signal came at shutdown
                        t.finished_first += 1
                    elif p.returncode != want:
                        t.wrong_exit += 1
                        err = p.stderr.read().decode(errors="replace")[-200:] if p.stderr else ""
                        t.problems.append(f"{stage}: {sig.name} exit {p.returncode}, want {want}: {err}")
                    if took > 2.0:
                        t.slow_exit += 1
                        t.problems.append(f"{stage}: {sig.name} took {took:.1f}s")
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                if p.stderr:
                    p.stderr.close()
            time.sleep(0.3)
            left = _marked(marker)
            if left:
                t.orphans += len(left)
                t.problems.append(f"{stage}: {len(left)} process(es) left")
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            parts = _partials(work / "out", store / "ingest", work / stage)
            ingest_left = [x.name for x in (store / "ingest").iterdir()]
            if parts or ingest_left:
                t.partial_files += len(parts) + len(ingest_left)
                t.problems.append(f"{stage}: partial files {parts[:2]} ingest {ingest_left[:2]}")
                for leftover in (store / "ingest").iterdir():  # counted once, not again in later rounds
                    force_rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            if signalled and (store / "index.json").read_bytes() != before:
                # the signal came after the command's commit point: allowed only if the store is consistent
                # and the change is the command's own complete image
                fsck = subprocess.run([*SEALER, "--root", str(store), "fsck", "--fast"], capture_output=True)
                if fsck.returncode == 0:
                    t.committed_first += 1
                else:
                    t.store_changes += 1
                    t.problems.append(f"{stage}: store inconsistent after an interrupted command")
                for tag in ("s:v1", "c:v1"):
                    subprocess.run([*SEALER, "--root", str(store), "rmi", tag], capture_output=True)
            if not signalled and (store / "index.json").read_bytes() != before:
                for tag in ("s:v1", "c:v1"):
                    subprocess.run([*SEALER, "--root", str(store), "rmi", tag], capture_output=True)
            new = {p.name for p in (store / "blobs" / "sha256").iterdir()} - blobs_before
            if signalled and new:
                t.leftover_blobs += len(new)
                subprocess.run([*SEALER, "--root", str(store), "gc"], capture_output=True)
            (work / stage / "out" / "x.tar").unlink(missing_ok=True)
    finally:
        drip.stop.set()
        drip.shutdown()
        drip.server_close()
        server.join(timeout=10)
    return t
