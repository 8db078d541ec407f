"""SIGTERM behaves like Ctrl-C: it raises :class:`Terminated` in the main thread, so every ``finally`` and
``except BaseException`` cleanup runs (worker processes killed, partial files removed, leases released) and the
CLI exits 143 (SIGINT: 130)."""

from __future__ import annotations

import contextlib
import signal
from types import FrameType

from sealer import netguard


class Terminated(BaseException):
    """SIGTERM arrived; unwinds like KeyboardInterrupt."""


EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def _on_term(signum: int, frame: FrameType | None) -> None:
    # a second SIGTERM while unwinding is ignored: cleanup must be allowed to finish
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    netguard.cancel()
    raise Terminated()


def _on_int(signum: int, frame: FrameType | None) -> None:
    netguard.cancel()  # downloads in worker threads stop at their next chunk
    raise KeyboardInterrupt()


def install() -> None:
    """Install the SIGTERM and SIGINT handlers (main thread only; a no-op elsewhere)."""
    with contextlib.suppress(ValueError):  # not the main thread (e.g. a test runner's worker thread)
        signal.signal(signal.SIGTERM, _on_term)
        signal.signal(signal.SIGINT, _on_int)
