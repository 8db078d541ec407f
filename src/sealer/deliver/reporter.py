"""Progress of a delivery: per host and phase. The library logs; the CLI renders (rich)."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("sealer.deliver")


class Reporter(Protocol):
    def phase_started(self, host: str, phase: str) -> None: ...
    def phase_done(self, host: str, phase: str, *, skipped: bool, seconds: float, detail: str = "") -> None: ...
    def phase_failed(self, host: str, phase: str, error: str) -> None: ...
    def note(self, text: str) -> None: ...


class LogReporter:
    """The default reporter: library logging only."""

    def phase_started(self, host: str, phase: str) -> None:
        log.info("%s: %s ...", host, phase)

    def phase_done(self, host: str, phase: str, *, skipped: bool, seconds: float, detail: str = "") -> None:
        state = "already done" if skipped else f"done in {seconds:.2f}s"
        log.info("%s: %s %s%s", host, phase, state, f" ({detail})" if detail else "")

    def phase_failed(self, host: str, phase: str, error: str) -> None:
        log.error("%s: %s failed: %s", host, phase, error)

    def note(self, text: str) -> None:
        log.info("%s", text)
