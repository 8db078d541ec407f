"""What a render worker process (charts: :mod:`sealer.discover.render_worker`, kubeadm templates:
:mod:`sealer.cluster.template_worker`) does before it serves: cap its heap and keep its protocol channel private.
Imports nothing of sealer, so a worker starts fast."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Sequence
from typing import IO


def limit_memory(mb: int) -> None:
    """Cap this worker's heap (RLIMIT_DATA counts the Go runtime's committed arenas, not its PROT_NONE address
    space reservations): a template that produces gigabytes makes the engine fail fast with "out of memory",
    and the parent reports it, instead of growing until the timeout."""
    if mb > 0:
        limit = mb << 20
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def memory_arg(argv: Sequence[str], default: int) -> int:
    """``--memory-mb N`` as the parent passes it; ``default`` for a worker started by hand."""
    return int(argv[1]) if argv[:1] == ["--memory-mb"] and len(argv) > 1 else default


def private_protocol() -> IO[str]:
    """The worker's answers go to the returned stream (the original stdout); anything the engine prints goes
    to stderr, so it can never corrupt the protocol."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto
