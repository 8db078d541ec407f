"""The process's resource limits, as values: set once by the CLI from its settings (``cli/settings.py`` reads
the environment variables named below), read by the library where each limit applies. The library reads no
environment variable; a worker subprocess gets its limit explicitly on its command line.

    chart_memory_mb      SEALER_CHART_MEMORY_MB     heap cap of a Helm chart render worker (0: none)
    template_memory_mb   SEALER_TEMPLATE_MEMORY_MB  heap cap of a Go template render worker (0: none)
    template_timeout     SEALER_TEMPLATE_TIMEOUT    seconds a template render may take
    net_min_rate         SEALER_NET_MIN_RATE        bytes/s a network read must keep up over ...
    net_window           SEALER_NET_WINDOW          ... this many seconds (0 for either: no rule)
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CHART_MEMORY_MB = 512
DEFAULT_TEMPLATE_MEMORY_MB = 512
DEFAULT_TEMPLATE_TIMEOUT = 30.0
DEFAULT_NET_MIN_RATE = 1024.0
DEFAULT_NET_WINDOW = 30.0


@dataclass(frozen=True)
class Limits:
    chart_memory_mb: int = DEFAULT_CHART_MEMORY_MB
    template_memory_mb: int = DEFAULT_TEMPLATE_MEMORY_MB
    template_timeout: float = DEFAULT_TEMPLATE_TIMEOUT
    net_min_rate: float = DEFAULT_NET_MIN_RATE
    net_window: float = DEFAULT_NET_WINDOW


_current = Limits()


def configure(limits: Limits) -> None:
    """Use ``limits`` in this process from now on (the CLI calls this once, before the command runs)."""
    global _current
    _current = limits


def current() -> Limits:
    return _current
