"""Bounded Go template rendering: each render runs in a killable worker process with a time and memory cap.

Templates come from an image's rootfs (``etc/kubeadm-*.yaml.tmpl``): ``{{ range until 100000000 }}`` must not
take the machine's memory or hang the command. A render that runs past ``template_timeout`` seconds of
:mod:`sealer.limits` (default 30; the CLI's ``SEALER_TEMPLATE_TIMEOUT``) kills the worker; one that needs more
than ``template_memory_mb`` (default 512; ``SEALER_TEMPLATE_MEMORY_MB``) fails in the worker (the limit is given
on its command line); Ctrl-C/SIGTERM in the parent kills the worker at once. Errors name the template file and the limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sealer
from sealer import limits
from sealer.errors import ClusterConfigError

DEFAULT_MEMORY_MB = limits.DEFAULT_TEMPLATE_MEMORY_MB
DEFAULT_TIMEOUT = limits.DEFAULT_TEMPLATE_TIMEOUT
MAX_OUTPUT = 64 << 20          # a rendered kubeadm config is a few kB; refuse absurd output
POLL = 0.2                     # select slice: a pending signal is handled within this
_SRC = str(Path(sealer.__file__).resolve().parent.parent)


def memory_limit_mb() -> int:
    return limits.current().template_memory_mb


def render_timeout() -> float:
    return limits.current().template_timeout


class TemplateWorker:
    """One worker process, started lazily, restarted after it is killed."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._buf = b""

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = _SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        self._buf = b""
        # own session: a terminal's Ctrl-C reaches only us; we stop the worker ourselves
        self.proc = subprocess.Popen([sys.executable, "-m", "sealer.cluster.template_worker",
                                      "--memory-mb", str(memory_limit_mb())],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=env, start_new_session=True)
        return self.proc

    def render(self, text: str, data: dict[str, Any], name: str, timeout: float | None = None) -> str:
        limit = render_timeout() if timeout is None else timeout
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            try:
                proc.stdin.write(json.dumps({"text": text, "data": data, "name": name}).encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                raise ClusterConfigError(f"render template: worker died: {self._why()}", name) from None
            line = self._read_line(proc, limit, name)
        except BaseException:
            self.kill()
            raise
        answer = json.loads(line)
        if answer.get("ok"):
            return str(answer["out"])
        msg = str(answer.get("message") or "render failed")
        if "out of memory" in msg or "cannot allocate memory" in msg:
            self.kill()
            raise ClusterConfigError(self._memory_message(), name) from None
        raise ClusterConfigError(msg, answer.get("file") or name, answer.get("line"))

    def _read_line(self, proc: subprocess.Popen[bytes], limit: float, name: str) -> bytes:
        assert proc.stdout is not None
        deadline = time.monotonic() + limit
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ClusterConfigError(
                        f"render template: stopped after the {limit:g}s time limit (a template that never "
                        "finishes, such as a huge `until`?); raise SEALER_TEMPLATE_TIMEOUT if it is really that "
                        "slow", name)
                if not sel.select(min(left, POLL)):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    proc.wait()
                    raise ClusterConfigError(f"render template: {self._why()}", name)
                self._buf += chunk
                if len(self._buf) > MAX_OUTPUT:
                    raise ClusterConfigError(f"render template: output larger than the {MAX_OUTPUT >> 20} MiB "
                                             "limit", name)
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _memory_message(self) -> str:
        return (f"render template: needs more than the {memory_limit_mb()} MiB memory limit (a template that "
                "produces gigabytes?); raise SEALER_TEMPLATE_MEMORY_MB if it is really that large")

    def _why(self) -> str:
        text = ""
        if self._stderr is not None:
            try:
                self._stderr.seek(0)
                text = self._stderr.read(1 << 16).decode(errors="replace")
            except (OSError, ValueError):
                text = ""
        if "out of memory" in text or "cannot allocate memory" in text or "MemoryError" in text:
            return self._memory_message().removeprefix("render template: ")
        rc = self.proc.poll() if self.proc is not None else None
        last = text.strip().splitlines()[-1] if text.strip() else ""
        return f"worker died (exit status {rc}){': ' + last if last else ''}"

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    with contextlib.suppress(OSError):
                        f.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
