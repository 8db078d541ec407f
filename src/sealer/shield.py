"""Cleanup that a Ctrl-C or SIGTERM must not cut short.

``with shielded(): remove temp dirs`` blocks SIGINT and SIGTERM for the duration (main thread); a signal that
arrives meanwhile stays pending and is handled right after, so the interruption still happens, only after the
partial files are gone.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
