"""The one place the CLI prints text it did not write itself.

Kubefile lines, command output, image references, labels, registry messages and file names are shown as plain
text: never read as Rich markup (``[red]``, ``[/]``) or emoji codes (``:smile:``), and with control characters
other than newline and tab shown escaped (see :mod:`sealer.plaintext`). Our own styling is added here, around
the plain text, never by formatting user text into a markup string.

Tables are a Rich table on a terminal; piped, they are plain lines: columns separated by two spaces, nothing
truncated or folded, no trailing padding (so ``sealer images | grep`` and ``awk`` see whole names).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sealer.plaintext import escape_controls

__all__ = ["escape_controls", "plain", "echo", "echo_err", "error", "print_table", "styled"]


def _console(stderr: bool) -> Console:
    from sealer.cli.common import err, out

    return err if stderr else out


def plain(text: object, style: str = "", one_line: bool = False) -> Text:
    """A Rich ``Text`` holding ``text`` verbatim (escaped controls); Text is never parsed for markup or emoji."""
    return Text(escape_controls(str(text), keep_newlines=not one_line), style=style, end="")


def styled(*parts: tuple[str, str] | str) -> Text:
    """Join plain pieces: a ``str`` is user text (plain); a ``(text, style)`` pair is our own styled label."""
    t = Text(end="")
    for p in parts:
        if isinstance(p, tuple):
            t.append_text(plain(p[0], p[1]))
        else:
            t.append_text(plain(p))
    return t


def _emit(console: Console, text: Text | str, end: str) -> None:
    t = text if isinstance(text, Text) else plain(text)
    if not console.is_terminal:  # piped: no styles to render, so the plain text goes straight out (fast)
        console.file.write(t.plain + end)
        console.file.flush()
        return
    console.print(t, end=end, markup=False, emoji=False, highlight=False, soft_wrap=True)


def echo(text: Text | str = "", end: str = "\n") -> None:
    """Print a line on stdout (data)."""
    _emit(_console(False), text, end)


def echo_err(text: Text | str = "", end: str = "\n") -> None:
    """Print a line on stderr (messages, progress)."""
    _emit(_console(True), text, end)


def error(message: str, label: str = "Error:") -> None:
    """``Error: <message>`` on stderr; the label is bold red on a terminal, the message always plain."""
    echo_err(styled((label, "bold red"), " ", message))


def write_stream(stream: IO[str], line: str) -> None:
    """One escaped line to a plain text stream (for output that bypasses Rich, such as build logs)."""
    stream.write(escape_controls(line) + "\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[object]], stderr: bool = False) -> None:
    """A table: Rich on a terminal, plain aligned lines (never truncated, no trailing padding) when piped."""
    console = _console(stderr)
    cells = [[escape_controls(str(c), keep_newlines=False) for c in row] for row in rows]
    if console.is_terminal:
        t = Table(box=None, pad_edge=False)
        for col in columns:
            t.add_column(col, overflow="fold")
        for row in cells:
            t.add_row(*(Text(c) for c in row))
        console.print(t, markup=False, emoji=False, highlight=False)
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
