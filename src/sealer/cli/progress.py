"""How the CLI renders the library's progress reports (sealer.progress): build steps and RUN output as lines on
stderr, image caching as a rich display on a terminal and plain lines elsewhere (CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from sealer.plaintext import escape_controls


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
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self._lock = threading.Lock()
        self._rich: Progress | None = None
        self._images: Any = None
        self._bytes: Any = None
        self.done = 0
        self.total = 0
        self.fetched = 0
        self._t0 = time.monotonic()

    def start(self, images: int, total_bytes: int) -> None:
        self.total = images
        self._t0 = time.monotonic()
        if not self.enabled:
            return
        if self.console.is_terminal:
            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                                  console=self.console, transient=False)
            self._images = self._rich.add_task("images", total=images)
            self._bytes = self._rich.add_task("bytes ", total=total_bytes or None)
            self._rich.start()
        else:
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
            self.console.print(Text(escape_controls(f"[{done}/{self.total}] {name} {detail}".rstrip())))

    def say(self, text: str) -> None:
        if self.enabled:
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
