"""The one place the CLI prints text it did not write itself.

Kubefile lines, command output, image references, labels, registry messages and file names are shown as plain
text: never read as Rich markup (``[red]``, ``[/]``) or emoji codes (``:smile:``), and with control characters
other than newline and tab shown escaped (see :mod:`sealer.plaintext`). Our own styling is added here, around
the plain text, never by formatting user text into a markup string.

Tables are a Rich table on a terminal; piped, they are plain lines: columns separated by two spaces, nothing
truncated or folded, no trailing padding (so ``sealer images | grep`` and ``awk`` see whole names).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from sealer.plaintext import escape_controls

if TYPE_CHECKING:  # Rich is loaded only to draw on a terminal: piped output never imports it
    from rich.console import Console
    from rich.text import Text

    from sealer.progress import TaskReporter

__all__ = ["escape_controls", "plain", "echo", "echo_err", "error", "print_table", "styled", "Styled"]


def _console(stderr: bool) -> Console:
    from sealer.cli.common import console

    return console("err" if stderr else "out")


def _is_terminal(stderr: bool) -> bool:
    """Rich's ``Console.is_terminal`` for our stream, without loading Rich when the answer is plainly "no": a
    stream that is not a tty, with neither TTY_COMPATIBLE nor FORCE_COLOR set, is never a terminal to Rich."""
    stream = sys.stderr if stderr else sys.stdout
    if "TTY_COMPATIBLE" not in os.environ and "FORCE_COLOR" not in os.environ:
        try:
            if not stream.isatty():
                return False
        except (ValueError, AttributeError):
            return False
    return _console(stderr).is_terminal


class Styled:
    """A line made of plain pieces, each with an optional style of our own (``""``: none). Rendered as a Rich
    ``Text`` only on a terminal; ``.plain`` is the escaped text as printed when piped."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[tuple[str, str]]) -> None:
        self.parts = tuple(parts)

    @property
    def plain(self) -> str:
        return "".join(escape_controls(text) for text, _ in self.parts)

    def to_text(self) -> Text:
        from rich.text import Text

        t = Text(end="")
        for text, style in self.parts:
            t.append_text(plain(text, style))
        return t


def plain(text: object, style: str = "", one_line: bool = False) -> Text:
    """A Rich ``Text`` holding ``text`` verbatim (escaped controls); Text is never parsed for markup or emoji."""
    from rich.text import Text

    return Text(escape_controls(str(text), keep_newlines=not one_line), style=style, end="")


def styled(*parts: tuple[str, str] | str) -> Styled:
    """Join plain pieces: a ``str`` is user text (plain); a ``(text, style)`` pair is our own styled label."""
    return Styled([p if isinstance(p, tuple) else (str(p), "") for p in parts])


def _emit(stderr: bool, text: Text | Styled | str, end: str) -> None:
    if not _is_terminal(stderr):  # piped: no styles to render, so the plain text goes straight out (fast)
        stream = sys.stderr if stderr else sys.stdout
        stream.write((escape_controls(text) if isinstance(text, str) else text.plain) + end)
        stream.flush()
        return
    if isinstance(text, str):
        t = plain(text)
    elif isinstance(text, Styled):
        t = text.to_text()
    else:
        t = text
    _console(stderr).print(t, end=end, markup=False, emoji=False, highlight=False, soft_wrap=True)


def echo(text: Text | Styled | str = "", end: str = "\n") -> None:
    """Print a line on stdout (data)."""
    _emit(False, text, end)


def echo_err(text: Text | Styled | str = "", end: str = "\n") -> None:
    """Print a line on stderr (messages, progress)."""
    _emit(True, text, end)


def error(message: str, label: str = "Error:") -> None:
    """``Error: <message>`` on stderr; the label is bold red on a terminal, the message always plain."""
    echo_err(styled((label, "bold red"), " ", message))


def write_stream(stream: IO[str], line: str) -> None:
    """One escaped line to a plain text stream (for output that bypasses Rich, such as build logs)."""
    stream.write(escape_controls(line) + "\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[object]], stderr: bool = False) -> None:
    """A table: Rich on a terminal, plain aligned lines (never truncated, no trailing padding) when piped."""
    cells = [[escape_controls(str(c), keep_newlines=False) for c in row] for row in rows]
    if _is_terminal(stderr):
        from rich.table import Table
        from rich.text import Text

        t = Table(box=None, pad_edge=False)
        for col in columns:
            t.add_column(col, overflow="fold")
        for row in cells:
            t.add_row(*(Text(c) for c in row))
        _console(stderr).print(t, markup=False, emoji=False, highlight=False)
        return
    widths = [len(c) for c in columns]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    stream = sys.stderr if stderr else sys.stdout
    for row in [list(columns), *cells]:
        parts = [c.ljust(widths[i]) for i, c in enumerate(row)]
        stream.write("  ".join(parts).rstrip() + "\n")
    stream.flush()


class _LazyTaskProgress:
    """The library's long tasks (save, load, export, COPY, chart rendering, lock waits) drawn on a terminal.
    Rich is imported only when a task starts, so a command that runs none loads no Rich."""

    def __init__(self) -> None:
        self._real: TaskReporter | None = None

    def _get(self) -> TaskReporter:
        if self._real is None:
            from sealer.cli.progress import TaskProgress

            self._real = TaskProgress(_console(True))
        return self._real

    def start(self, name: str, total: int | None = None) -> None:
        self._get().start(name, total)

    def advance(self, n: int) -> None:
        if self._real is not None:
            self._real.advance(n)

    def done(self) -> None:
        if self._real is not None:
            self._real.done()


def install_task_progress(enabled: bool = True) -> None:
    """Show the library's task progress when stderr is a terminal (never when piped: output stays as it was);
    ``enabled=False`` (``-q``) turns it off for this invocation."""
    from sealer.progress import set_task_reporter

    try:
        tty = sys.stderr.isatty()
    except (ValueError, AttributeError):
        tty = False
    set_task_reporter(_LazyTaskProgress() if enabled and tty else None)
