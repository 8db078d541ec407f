"""How library code reports progress: small protocols that the CLI renders (rich on a terminal, plain lines in
logs). The library never writes to stdout or stderr; diagnostics go to the ``sealer`` logger (``--debug``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol

log = logging.getLogger("sealer")


class CacheReporter(Protocol):
    """Image caching: images done out of a total, bytes fetched. Called from worker threads."""

    def start(self, images: int, total_bytes: int) -> None: ...
    def add_bytes(self, n: int) -> None: ...
    def image_done(self, name: str, detail: str = "") -> None: ...
    def say(self, text: str) -> None: ...
    def close(self) -> None: ...


class BuildReporter(Protocol):
    """Build steps: one line per step or result, warnings (shown even when quiet), and RUN output lines."""

    def say(self, msg: str) -> None: ...
    def warn(self, msg: str) -> None: ...
    def output(self, line: str) -> None: ...
    def cache_progress(self) -> CacheReporter: ...


class LogReporter:
    """The library's default: everything to the ``sealer`` logger (INFO; warnings as WARNING)."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger

    def say(self, msg: str) -> None:
        self.log.info("%s", msg)

    def warn(self, msg: str) -> None:
        self.log.warning("%s", msg)

    def output(self, line: str) -> None:
        self.log.debug("  | %s", line)

    def cache_progress(self) -> CacheReporter:
        return LogCacheReporter(self.log)


class LogCacheReporter:
    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger
        self.total = 0
        self.done = 0

    def start(self, images: int, total_bytes: int) -> None:
        self.total = images
        self.log.info("caching %d images (%d bytes to fetch)", images, total_bytes)

    def add_bytes(self, n: int) -> None:
        pass

    def image_done(self, name: str, detail: str = "") -> None:
        self.done += 1
        self.log.info("[%d/%d] %s %s", self.done, self.total, name, detail)

    def say(self, text: str) -> None:
        self.log.info("%s", text)

    def close(self) -> None:
        self.log.info("cached %d/%d images", self.done, self.total)


class TaskReporter(Protocol):
    """One long local task at a time (save, load, export, a COPY layer, chart rendering, waiting for a lock):
    ``start`` with a total in bytes (None: unknown, a spinner), ``advance`` by bytes done, ``done`` at the end."""

    def start(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int) -> None: ...
    def done(self) -> None: ...


class LogTaskReporter:
    """The library's default: a DEBUG line when a task starts; nothing per byte."""

    def start(self, name: str, total: int | None = None) -> None:
        log.debug("%s%s", name, f" ({total} bytes)" if total else "")

    def advance(self, n: int) -> None:
        pass

    def done(self) -> None:
        pass


_tasks: TaskReporter = LogTaskReporter()


def set_task_reporter(reporter: TaskReporter | None) -> TaskReporter:
    """Install the process-wide task reporter (None: the logging default); returns the previous one."""
    global _tasks
    prev, _tasks = _tasks, reporter or LogTaskReporter()
    return prev


@contextmanager
def task(name: str, total: int | None = None) -> Iterator[TaskReporter]:
    """Report one task to the installed reporter; ``done`` is always called, even on an error."""
    rep = _tasks
    rep.start(name, total)
    try:
        yield rep
    finally:
        rep.done()


class CountingReader:
    """A read-only file wrapper that reports the bytes read to a task."""

    def __init__(self, fp: IO[bytes], rep: TaskReporter) -> None:
        self._fp = fp
        self._rep = rep

    def read(self, n: int = -1) -> bytes:
        b = self._fp.read(n)
        self._rep.advance(len(b))
        return b
