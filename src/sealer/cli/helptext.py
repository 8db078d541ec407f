"""``sealer --help`` and ``sealer --version`` answered without importing click (issue 17: start-up).

Importing click costs more than the rest of these two answers together, and the top-level help is made of
text sealer keeps in :mod:`sealer.cli.main` (the command table, the group's help, the global options). This is
click's rendering of that one page, ported: the same width rule (terminal columns, clamped to the group's
``max_content_width``, minus 2, at least 50), the same wrapping (``textwrap`` with click's long-word rule and
``\\b`` blocks) and the same definition lists. ``tests/cli/test_startup.py`` compares the text with click's own
for many widths; every other page (a command's help, usage errors) is click's.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# click's own words for the options it adds (its defaults; the test compares them with click's rendering)
VERSION_OPTION_HELP = "Show the version and exit."
HELP_OPTION_HELP = "Show this message and exit."
VERSION_MESSAGE = "{prog}, version {version}"


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (what click reads), without importing shutil (it loads bz2, lzma)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            stdout = sys.__stdout__
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout is not None else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


def help_width(max_content_width: int) -> int:
    """click's ``HelpFormatter`` width for a context with ``max_content_width``."""
    return max(min(terminal_columns(), max_content_width) - 2, 50)


class _Wrapper(textwrap.TextWrapper):
    """``textwrap.TextWrapper`` with click's rule for a word longer than the line (cut at the space left, at
    least one character; no hyphen search) and its extra indentation for indented paragraphs."""

    def _handle_long_word(self, reversed_chunks: list[str], cur_line: list[str], cur_len: int,
                          width: int) -> None:
        space_left = max(width - cur_len, 1)
        if self.break_long_words:
            last = reversed_chunks[-1]
            cur_line.append(last[:space_left])
            reversed_chunks[-1] = last[space_left:]
        elif not cur_line:
            cur_line.append(reversed_chunks.pop())

    @contextmanager
    def extra_indent(self, indent: str) -> Iterator[None]:
        initial, subsequent = self.initial_indent, self.subsequent_indent
        self.initial_indent += indent
        self.subsequent_indent += indent
        try:
            yield
        finally:
            self.initial_indent, self.subsequent_indent = initial, subsequent

    def indent_only(self, text: str) -> str:
        return "\n".join(f"{self.initial_indent if i == 0 else self.subsequent_indent}{line}"
                         for i, line in enumerate(text.splitlines()))


def wrap_text(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "",
              preserve_paragraphs: bool = False) -> str:
    """click.formatting.wrap_text (plain text: no ANSI escapes in sealer's own help)."""
    text = text.expandtabs()
    wrapper = _Wrapper(width, initial_indent=initial_indent, subsequent_indent=subsequent_indent,
                       replace_whitespace=False)
    if not preserve_paragraphs:
        return wrapper.fill(text)
    paragraphs: list[tuple[int, bool, str]] = []
    buf: list[str] = []
    indent: int | None = None

    def flush() -> None:
        if not buf:
            return
        if buf[0].strip() == "\b":
            paragraphs.append((indent or 0, True, "\n".join(buf[1:])))
        else:
            paragraphs.append((indent or 0, False, " ".join(buf)))
        del buf[:]

    for line in text.splitlines():
        if not line:
            flush()
            indent = None
        else:
            if indent is None:
                stripped = line.lstrip()
                indent = len(line) - len(stripped)
                line = stripped
            buf.append(line)
    flush()
    out = []
    for ind, raw, par in paragraphs:
        with wrapper.extra_indent(" " * ind):
            out.append(wrapper.indent_only(par) if raw else wrapper.fill(par))
    return "\n\n".join(out)


def short_help(text: str, limit: int) -> str:
    """click's default short help of a command whose help is ``text``: its first sentence, shortened to ``limit``."""
    words = text.partition("\n\n")[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    if not words:
        return ""
    last = len(words) - 1
    for i, word in enumerate(words):
        if word.endswith(".") and (i == last or not words[i + 1][0].islower()):
            words = words[:i + 1]
            break
    joined = " ".join(words)
    if len(joined) <= limit:
        return joined.strip()
    if limit < 3:
        return "..."
    return textwrap.shorten(joined, limit, placeholder="...", break_on_hyphens=False).strip()


class Formatter:
    """The parts of ``click.HelpFormatter`` a group's help page uses."""

    def __init__(self, width: int, indent_increment: int = 2) -> None:
        self.width = width
        self.indent_increment = indent_increment
        self.current_indent = 0
        self.buffer: list[str] = []

    def write(self, s: str) -> None:
        self.buffer.append(s)

    def write_usage(self, prog: str, args: str, prefix: str = "Usage: ") -> None:
        usage_prefix = f"{prefix:>{self.current_indent}}{prog} "
        text_width = self.width - self.current_indent
        if not args:
            self.write(usage_prefix.rstrip(" ") + "\n")
            return
        if text_width >= len(usage_prefix) + 20:
            self.write(wrap_text(args, text_width, initial_indent=usage_prefix,
                                 subsequent_indent=" " * len(usage_prefix)))
        else:
            self.write(usage_prefix + "\n")
            indent = " " * (max(self.current_indent, len(prefix)) + 4)
            self.write(wrap_text(args, text_width, initial_indent=indent, subsequent_indent=indent))
        self.write("\n")

    def write_paragraph(self) -> None:
        if self.buffer:
            self.write("\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write(wrap_text(text, self.width, initial_indent=indent, subsequent_indent=indent,
                             preserve_paragraphs=True) + "\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_text(second, max(self.width - first_col - 2, 10), preserve_paragraphs=True).splitlines()
            if not lines:
                self.write("\n")
                continue
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        self.write_paragraph()
        self.write(f"{'':>{self.current_indent}}{name}:\n")
        self.current_indent += self.indent_increment
        try:
            yield
        finally:
            self.current_indent -= self.indent_increment

    def getvalue(self) -> str:
        return "".join(self.buffer)


def group_help(prog: str, help_text: str, options: Sequence[tuple[str, str]], commands: Sequence[tuple[str, str]],
               width: int) -> str:
    """A click group's help page (``Group.get_help``, without the final newline ``echo`` adds): usage, the help
    text, the options (each ``(declaration, help)``), the commands (``(name, full help)``, shortened as click
    shortens them)."""
    f = Formatter(width)
    f.write_usage(prog, "[OPTIONS] COMMAND [ARGS]...")
    if help_text:
        f.write_paragraph()
        f.current_indent += f.indent_increment
        f.write_text(help_text)
        f.current_indent -= f.indent_increment
    if options:
        with f.section("Options"):
            f.write_dl(options)
    if commands:
        limit = f.width - 6 - max(len(name) for name, _ in commands)
        with f.section("Commands"):
            f.write_dl([(name, short_help(text, limit)) for name, text in commands])
    return f.getvalue().rstrip("\n")
