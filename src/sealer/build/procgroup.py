"""A RUN step's processes as one group: started in a new session, read without blocking on stragglers, and
killed as a whole (background children of ``RUN cmd &`` included) when the step ends or is cancelled."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence

POLL = 0.2            # a pending Ctrl-C/SIGTERM is handled within this
GRACE = 1.0           # SIGTERM to the group, then SIGKILL after this


def kill_group(proc: subprocess.Popen[bytes], grace: float = GRACE) -> None:
    """SIGTERM the whole process group, SIGKILL what is left after ``grace`` seconds; reap the leader."""
    pgid = proc.pid  # the leader of its own session: pgid == pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(pgid):
            break
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run_group(argv: Sequence[str], cwd: str, env: dict[str, str], on_line: Callable[[bytes], None],
              timeout: float | None = None) -> int | None:
    """Run ``argv`` in a new session, feeding each output line (stdout+stderr) to ``on_line``.

    Returns the exit status, or None on timeout. The step is over when its main process exits: whatever it left
    running in the background is killed then (a background child holding the output pipe cannot keep the
    build waiting). Any exception (KeyboardInterrupt, SIGTERM's Terminated) kills the group before it
    propagates.
    """
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = None if timeout is None else time.monotonic() + timeout
    buf = b""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            eof = False
            while not eof:
                if deadline is not None and time.monotonic() > deadline:
                    return None
                if sel.select(POLL):
                    chunk = _read(fd)
                    if chunk is None:
                        continue
                    if not chunk:
                        eof = True
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for ln in lines:
                        on_line(ln)
                elif proc.poll() is not None:
                    # the main process is done and nothing was written for a while: drain what is there and stop
                    # (a background child may hold the pipe open forever)
                    chunk = _read(fd)
                    buf += chunk or b""
                    break
            if buf:
                on_line(buf)
        return proc.wait()
    finally:
        kill_group(proc, grace=0.2 if proc.poll() is not None else GRACE)
        proc.stdout.close()


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
