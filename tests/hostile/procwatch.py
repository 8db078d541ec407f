"""Watching the processes a test started, through /proc only (no sealer import): find a child by its command
line, signal the parent once it is busy, and measure how long the parent takes to exit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def children(pid: int, needle: bytes = b"") -> list[int]:
    """Direct children of ``pid`` whose command line contains ``needle``."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            fields = _stat_fields(int(d))
            if len(fields) > 1 and int(fields[1]) == pid and needle in cmdline(int(d)):
                out.append(int(d))
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_for_child(p: subprocess.Popen[str], needle: bytes, timeout: float) -> list[int]:
    """Poll until ``p`` has a child whose command line contains ``needle``; [] if none came in time."""
    deadline = time.monotonic() + timeout
    found: list[int] = []
    while not found and time.monotonic() < deadline and p.poll() is None:
        found = children(p.pid, needle)
        time.sleep(0.1)
    return found


def signal_and_wait(p: subprocess.Popen[str], sig: signal.Signals, *, group: bool,
                    timeout: float = 30) -> tuple[str, float]:
    """Send ``sig`` to ``p`` (or its process group, as a terminal's Ctrl-C does) and wait for it to exit.
    Returns its stderr and the seconds from the signal to its exit."""
    t0 = time.monotonic()
    if group:
        os.killpg(p.pid, sig)
    else:
        os.kill(p.pid, sig)
    _, err = p.communicate(timeout=timeout)
    return err, time.monotonic() - t0


def reap(p: subprocess.Popen[str]) -> None:
    """Kill ``p`` by its PID if a failed assertion left it running."""
    if p.poll() is None:
        p.kill()
        p.wait()
