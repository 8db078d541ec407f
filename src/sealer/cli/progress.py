"""How the CLI renders the library's progress reports (sealer.progress): build steps and RUN output as lines on
stderr, image caching as a rich display on a terminal and plain lines elsewhere (CI logs).

Rich is imported when a display is made (image caching starts, a long task starts on a terminal): a build that
caches nothing (a rebuild whose every step is cached) never loads it."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from sealer.plaintext import escape_controls

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}TB"


class CacheProgress:
    """Thread-safe counters for images done/total and bytes fetched, rendered to stderr."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self._console = console  # made on first output: a quiet build never loads Rich
        self._lock = threading.Lock()
        self._rich: Progress | None = None
        self._images: Any = None
        self._bytes: Any = None
        self.done = 0
        self.total = 0
        self.fetched = 0
        self._t0 = time.monotonic()

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def start(self, images: int, total_bytes: int) -> None:
        self.total = images
        self._t0 = time.monotonic()
        if not self.enabled:
            return
        if self.console.is_terminal:
            from rich.errors import LiveError
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TransferSpeedColumn,
            )

            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                                  console=self.console, transient=False)
            self._images = self._rich.add_task("images", total=images)
            self._bytes = self._rich.add_task("bytes ", total=total_bytes or None)
            try:
                self._rich.start()
            except LiveError:  # a task display (sealer.progress) is live: plain lines instead
                self._rich = None
        if self._rich is None:
            self.console.print(f"caching {images} images ({_human(total_bytes)} to fetch)")

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.fetched += n
        if self._rich is not None:
            self._rich.update(self._bytes, advance=n)

    def image_done(self, name: str, detail: str = "") -> None:
        with self._lock:
            self.done += 1
            done = self.done
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.update(self._images, advance=1)
        else:
            from rich.text import Text

            self.console.print(Text(escape_controls(f"[{done}/{self.total}] {name} {detail}".rstrip())))

    def say(self, text: str) -> None:
        if self.enabled:
            from rich.text import Text

            self.console.print(Text(escape_controls(text)))

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        if self.enabled:
            dt = max(time.monotonic() - self._t0, 1e-6)
            self.console.print(f"cached {self.done}/{self.total} images, fetched {_human(self.fetched)} "
                               f"in {dt:.1f}s ({_human(self.fetched / dt)}/s)")


class BuildProgress:
    """A BuildReporter for the terminal: steps and RUN output on stderr unless quiet; warnings always."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def say(self, msg: str) -> None:
        if not self.quiet:
            sys.stderr.write(escape_controls(msg) + "\n")
            sys.stderr.flush()

    def warn(self, msg: str) -> None:
        sys.stderr.write("WARNING: " + escape_controls(msg) + "\n")
        sys.stderr.flush()

    def output(self, line: str) -> None:
        if not self.quiet:   # RUN output is outside text: control characters shown escaped
            sys.stderr.write("  | " + escape_controls(line) + "\n")

    def cache_progress(self) -> CacheProgress:
        return CacheProgress(not self.quiet)


class TaskProgress:
    """The library's long local tasks as a transient rich bar (bytes known) or spinner (unknown) on stderr; one
    task per thread, all in one display, removed when the last one is done. Only installed on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._rich: Progress | None = None
        self._local = threading.local()
        self._open = 0

    def start(self, name: str, total: int | None = None) -> None:
        from rich.errors import LiveError
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        with self._lock:
            if self._rich is None:
                self._rich = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                                      DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                                      console=self.console, transient=True)
                try:
                    self._rich.start()
                except LiveError:  # another display (image caching) is live: stay quiet
                    self._rich = None
                    self._local.ids = [*getattr(self._local, "ids", []), None]
                    return
            tid = self._rich.add_task(escape_controls(name), total=total or None)
            self._open += 1
        self._local.ids = [*getattr(self._local, "ids", []), tid]

    def advance(self, n: int) -> None:
        ids = getattr(self._local, "ids", None)
        if ids and ids[-1] is not None and self._rich is not None:
            self._rich.update(ids[-1], advance=n)

    def done(self) -> None:
        ids = getattr(self._local, "ids", None)
        if not ids:
            return
        tid = ids.pop()
        if tid is None:
            return
        with self._lock:
            if self._rich is None:
                return
            self._rich.remove_task(tid)
            self._open -= 1
            if self._open == 0:
                self._rich.stop()
                self._rich = None
