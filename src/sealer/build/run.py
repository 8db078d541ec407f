"""Execute a RUN step with bash in the working rootfs (cwd = rootfs, rootfs/bin first on PATH).

The command runs as its own process group (:mod:`sealer.build.procgroup`), killed whole — background children of
``RUN cmd &`` included — when the step ends, times out or is interrupted. Output lines go to ``echo`` (the CLI
prints them as plain text); the last lines are kept for the error.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from sealer.build.procgroup import run_group
from sealer.errors import BuildError
from sealer.kubefile import Run

TAIL_LINES = 20


def run_step(step: Run, rootfs: Path, echo: Callable[[str], None] | None = None,
             timeout: float | None = None, env: Mapping[str, str] | None = None) -> None:
    """Run ``step``; each output line goes to ``echo``. ``env``: the Kubefile's ARG values and ENV, given to
    the command on top of ours."""
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{rootfs / 'bin'}:{full_env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
    full_env["ROOTFS"] = full_env["SEALER_ROOTFS"] = str(rootfs)
    if step.argv is not None:
        argv = list(step.argv)
    else:
        assert step.command is not None
        argv = ["bash", "-o", "pipefail", "-c", step.command]
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def on_line(raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        tail.append(line)
        if echo is not None:
            echo(line)

    try:
        got = run_group(argv, str(rootfs), full_env, on_line, timeout)
    except FileNotFoundError:
        raise BuildError(f"RUN: command not found: {argv[0]} (COPY it into ./bin first, e.g. `COPY {argv[0]} ./bin`)",
                         step.location.file, step.location.line) from None
    if got is None:
        raise BuildError(f"RUN timed out after {timeout}s: {step.shell_line}", step.location.file,
                         step.location.line)
    rc = got
    if rc != 0:
        text = "\n".join(tail)
        hint = ""
        if rc == 127 or "command not found" in text:
            hint = " (a command is missing on this host: COPY the binary into ./bin before this RUN)"
        raise BuildError(f"RUN failed with exit code {rc}{hint}: {step.shell_line}\n--- output (last lines) ---\n{text}",
                         step.location.file, step.location.line)
