"""A small pool of chart render worker processes with a per-render timeout.

The Helm engine is Go code called through ctypes: it releases the GIL (threads would run in
parallel) but cannot be interrupted, so a looping template would hang a thread forever. Each render
therefore runs in a worker process (:mod:`sealer.discover.render_worker`); a render that exceeds
its timeout kills that worker (by PID) and a fresh one serves the next chart. Workers are reused
across charts and started lazily, at most ``size`` of them.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sealer
from sealer import limits
from sealer.errors import DiscoveryError

SPAWN_AFTER = 0.25
_SRC = str(Path(sealer.__file__).resolve().parent.parent)


_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "pthread_create failed",
                  "failed to create new OS thread")


class _Worker:
    def __init__(self) -> None:
        self.memory_mb = limits.current().chart_memory_mb
        env = dict(os.environ)
        env["PYTHONPATH"] = _SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sealer.discover.render_worker", "--memory-mb", str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        self.buffer = b""

    def ask(self, request: dict[str, Any], timeout: float, what: str, origin: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise DiscoveryError(f"{what}: render worker died: {self._stderr_tail()}", origin) from None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise DiscoveryError(f"{what}: timed out after {timeout:g}s (a template that never "
                                         "finishes?); the Helm engine was stopped", origin)
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.proc.wait()
                    tail = self._stderr_tail()
                    self.kill()
                    raise DiscoveryError(f"{what}: render worker died: {tail}", origin)
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _stderr_tail(self) -> str:
        """Why the worker died, from its stderr: Go prints ``fatal error: runtime: out of memory`` (or, when the
        cap hits a new thread's stack first, ``pthread_create failed``) and a long goroutine dump after it, so the
        head is searched for that, the tail for anything else."""
        try:
            self.stderr.seek(0)
            head = self.stderr.read(8192).decode(errors="replace")
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 2000))
            text = self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            head = text = ""
        # under the address-space cap Go may fail first at a thread's stack (pthread_create: EAGAIN)
        if any(m in head or m in text for m in _OUT_OF_MEMORY):
            return (f"the templates need more than the {self.memory_mb} MiB render memory limit (a template that produces "
                    "gigabytes?); raise SEALER_CHART_MEMORY_MB if the chart is really that large")
        return text.splitlines()[-1] if text else f"exit status {self.proc.poll()}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class RenderPool:
    """Thread-safe: call :meth:`render` from up to ``size`` threads at once."""

    def __init__(self, size: int, timeout: float) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._cond = threading.Condition()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(self) -> _Worker:
        """An idle worker; a new one only when none frees up within ``SPAWN_AFTER`` seconds.

        Starting a worker (Python + the 85 MB Helm library) costs ~0.3 s while most charts render
        in a few ms, so fast charts share one worker and slow ones bring more, up to ``size``.
        """
        with self._cond:
            if not self._idle and self._all:
                self._cond.wait_for(lambda: bool(self._idle), timeout=SPAWN_AFTER)
            while not self._idle and len(self._all) >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            worker = _Worker()
            self._all.append(worker)
            return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.alive():
                self._idle.append(worker)
            else:
                self._all.remove(worker)
            self._cond.notify()

    def render(self, request: dict[str, Any], what: str, origin: str) -> dict[str, Any]:
        worker = self._acquire()
        try:
            return worker.ask(request, self.timeout, what, origin)
        except BaseException:
            worker.kill()
            raise
        finally:
            self._release(worker)

    def close(self) -> None:
        with self._cond:
            workers, self._all, self._idle = self._all, [], []
        for w in workers:
            w.close()
