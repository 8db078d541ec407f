"""SIGTERM behaves like Ctrl-C: it raises :class:`Terminated` in the main thread, so every ``finally`` and
``except BaseException`` cleanup runs (worker processes killed, partial files removed, leases released) and the
CLI exits 143 (SIGINT: 130)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType


class Terminated(BaseException):
    """SIGTERM arrived; unwinds like KeyboardInterrupt."""


EXIT_SIGINT = 130
EXIT_SIGTERM = 143


_ready = False  # False while the interpreter is still importing: nothing to clean up yet


def stop_children() -> int:
    """SIGKILL every direct child process (helper workers: chart and template renderers, RUN leaders).

    Threads waiting on a helper (a chart render in a pool thread) cannot be interrupted, but they return as soon
    as the helper dies, so the interruption is not held up by a render that would run until its timeout. RUN
    steps run in their own process group, which the RUN code itself kills while unwinding."""
    me, n = os.getpid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for d in entries:
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(d), signal.SIGKILL)
                n += 1
    return n


def _cancel_transfers() -> None:
    """Make every guarded network read stop at its next chunk (:func:`sealer.netguard.cancel`). A process that
    never imported :mod:`sealer.netguard` runs no guarded read, so there is nothing to cancel (and a signal
    handler is no place to import a module)."""
    netguard = sys.modules.get("sealer.netguard")
    if netguard is not None:
        netguard.cancel()


def _on_term(signum: int, frame: FrameType | None) -> None:
    if not _ready:
        os._exit(EXIT_SIGTERM)
    # a second SIGTERM while unwinding is ignored: cleanup must be allowed to finish
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _cancel_transfers()
    stop_children()
    raise Terminated()


def _on_int(signum: int, frame: FrameType | None) -> None:
    if not _ready:
        os._exit(EXIT_SIGINT)
    _cancel_transfers()  # downloads in worker threads stop at their next chunk
    stop_children()
    raise KeyboardInterrupt()


def install() -> None:
    """Install the SIGTERM and SIGINT handlers (main thread only; a no-op elsewhere)."""
    with contextlib.suppress(ValueError):  # not the main thread (e.g. a test runner's worker thread)
        signal.signal(signal.SIGTERM, _on_term)
        signal.signal(signal.SIGINT, _on_int)


def install_early() -> None:
    """At import of the CLI package when it is the program being started (``sealer`` or ``python -m
    sealer.cli.main``): a signal that arrives while modules are still loading ends the process at once with
    130/143 instead of a KeyboardInterrupt traceback from an import, or death by the default SIGTERM action."""
    prog = os.path.basename(sys.argv[0]) if sys.argv else ""
    if prog in ("sealer", "-m"):
        install()


def ready() -> None:
    """The command is about to run: from now on signals unwind (cleanup runs) instead of exiting at once."""
    global _ready
    _ready = True


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """A command's module is being imported (on first use, after :func:`ready`): nothing of the command has run
    yet, and an import cut short by an exception leaves half-made classes behind, so a signal now ends the
    process at once with 130/143, as during start-up."""
    global _ready
    was = _ready
    _ready = False
    try:
        yield
    finally:
        _ready = was


def done() -> None:
    """The command is over (its result is committed and reported): a signal during interpreter shutdown is
    ignored rather than killing the process after the fact (CPython keeps SIG_IGN through finalization)."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
