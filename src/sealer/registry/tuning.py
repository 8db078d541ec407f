"""Process-wide HTTP tuning, applied explicitly (``RegistryOptions.large_reads``), never at import time."""

from __future__ import annotations

import httpcore

LARGE_READ = 1 << 20


def use_large_http11_reads() -> bool:
    """httpcore reads HTTP/1.1 bodies 64 KiB at a time, and its per-read Python work (h11 events) then costs more
    than hashing the bytes: 1 MiB reads make a blob download ~2x cheaper in CPU. It is a class attribute of
    httpcore's sync HTTP/1.1 connection, so this changes every client of the process; left alone (returns False)
    if a future httpcore renames it. Idempotent."""
    h11 = getattr(getattr(httpcore, "_sync", None), "http11", None)
    if h11 is None or not isinstance(getattr(h11.HTTP11Connection, "READ_NUM_BYTES", None), int):
        return False
    h11.HTTP11Connection.READ_NUM_BYTES = max(h11.HTTP11Connection.READ_NUM_BYTES, LARGE_READ)
    return True
