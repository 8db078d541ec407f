"""SIGTERM behaves like Ctrl-C: it raises :class:`Terminated` in the main thread, so every ``finally`` and
``except BaseException`` cleanup runs (worker processes killed, partial files removed, leases released) and the
CLI exits 143 (SIGINT: 130)."""

from __future__ import annotations

import contextlib
import signal
from types import FrameType


class Terminated(BaseException):
    """SIGTERM arrived; unwinds like KeyboardInterrupt."""


EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def _on_term(signum: int, frame: FrameType | None) -> None:
    # a second SIGTERM while unwinding is ignored: cleanup must be allowed to finish
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def install() -> None:
    """Install the SIGTERM handler (main thread only; a no-op elsewhere)."""
    with contextlib.suppress(ValueError):  # not the main thread (e.g. a test runner's worker thread)
        signal.signal(signal.SIGTERM, _on_term)
