"""Minimum-progress rule and cancellation for network reads.

A registry that answers but sends one byte a second never trips a read timeout. Every body read (manifests,
blobs) feeds a :class:`ProgressGuard`: when less than ``net_min_rate`` bytes/s (default 1024; the CLI's
``SEALER_NET_MIN_RATE``) arrived over a window of ``net_window`` seconds (default 30; ``SEALER_NET_WINDOW``) of
:mod:`sealer.limits` the transfer is abandoned with an error naming the
registry. Silence is the HTTP client's read timeout (60 s).

:func:`cancel` (called by the CLI on Ctrl-C/SIGTERM) makes every guarded read in every thread stop at its next
chunk, so downloads running in worker threads end promptly instead of keeping the process alive.
"""

from __future__ import annotations

import threading
import time

from sealer import limits
from sealer.errors import RegistryError, SealerError

DEFAULT_MIN_RATE = limits.DEFAULT_NET_MIN_RATE
DEFAULT_WINDOW = limits.DEFAULT_NET_WINDOW
_CANCELLED = threading.Event()


class Cancelled(SealerError):
    """The process is being interrupted; transfers stop."""

    exit_code = 130


def cancel() -> None:
    _CANCELLED.set()


def cancelled() -> bool:
    return _CANCELLED.is_set()


class ProgressGuard:
    """Feed it the size of every chunk read; it raises when the transfer is too slow or cancelled."""

    def __init__(self, what: str, registry: str) -> None:
        self.what = what
        self.registry = registry
        rule = limits.current()
        self.min_rate = rule.net_min_rate
        self.window = rule.net_window
        self._start = time.monotonic()
        self._bytes = 0
        self.total = 0

    def feed(self, n: int) -> None:
        if _CANCELLED.is_set():
            raise Cancelled(f"{self.what}: cancelled")
        self._bytes += n
        self.total += n
        now = time.monotonic()
        elapsed = now - self._start
        if self.min_rate > 0 and self.window > 0 and elapsed >= self.window:
            rate = self._bytes / elapsed
            if rate < self.min_rate:
                raise RegistryError(
                    f"{self.what}: registry {self.registry} is too slow: {self._bytes} bytes in the last "
                    f"{elapsed:.0f}s ({rate:.0f} B/s, minimum {self.min_rate:.0f} B/s); gave up "
                    "(SEALER_NET_MIN_RATE and SEALER_NET_WINDOW change this rule)")
            self._start, self._bytes = now, 0
