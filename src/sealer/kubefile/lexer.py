"""Kubefile text -> logical lines (``Node``) with line numbers. Pure; no I/O.

Input hygiene first (so nothing later sees hostile bytes): a file over ``MAX_FILE_BYTES`` or a
physical line over ``MAX_LINE_BYTES`` is refused, a UTF-8 BOM is dropped, invalid UTF-8 and NUL
bytes are refused with the line they are on.

Then Docker's line rules: blank lines and comment lines (``#`` after optional blanks) between
instructions are skipped; a line whose last non-blank character is ``\\`` continues on the next
line (the backslash is removed, the next line appended as is). Inside a continuation, comment
lines and blank lines are skipped and do not end it. A continuation at end of file ends the
instruction. A ``#`` anywhere else is literal text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sealer.errors import KubefileError
from sealer.kubefile.instructions import BLANKS

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Node:
    """One logical line: ``keyword`` exactly as written, ``args`` stripped of surrounding blanks."""

    keyword: str
    args: str
    line: int
    end_line: int


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: str | bytes, filename: str) -> list[str]:
    """Validate and decode ``data`` into physical lines (without line terminators)."""
    if isinstance(data, str):
        if len(data) > MAX_FILE_BYTES:
            raise KubefileError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", filename)
        # surrogatepass lets lone surrogates through here so that decoding reports them with their line.
        raw = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise KubefileError(f"read Kubefile: expected str or bytes, got {type(data).__name__}", filename)
    if len(raw) > MAX_FILE_BYTES:
        raise KubefileError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", filename)
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    if len(raw) > MAX_LINE_BYTES:
        for number, chunk in enumerate(raw.split(b"\n"), start=1):
            if len(chunk) > MAX_LINE_BYTES:
                raise KubefileError(
                    f"line is longer than 1 MiB ({len(chunk)} bytes)", filename, number
                )
    nul = raw.find(b"\x00")
    if nul != -1:
        raise KubefileError("NUL byte in line (a Kubefile is text)", filename, _line_of(raw, nul))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = e.start - raw.rfind(b"\n", 0, e.start)
        what = f"invalid UTF-8 (byte 0x{raw[e.start]:02x} at column {column})"
        if isinstance(data, str):  # only lone surrogates fail here; report the character, not bytes
            point = ord(raw[e.start:e.start + 3].decode("utf-8", "surrogatepass")[:1] or "?")
            what = f"unpaired surrogate U+{point:04X} (not encodable as UTF-8) at column {column}"
        raise KubefileError(what, filename, _line_of(raw, e.start)) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _is_comment(line: str) -> bool:
    return line.lstrip(BLANKS).startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip(BLANKS)


def _continues(line: str) -> tuple[str, bool]:
    """Strip a trailing continuation backslash; say whether there was one."""
    body = line.rstrip(BLANKS)
    if body.endswith("\\"):
        return body[:-1], True
    return line, False


def split_keyword(logical: str) -> tuple[str, str]:
    """``"RUN  echo hi "`` -> ``("RUN", "echo hi")``."""
    s = logical.strip(BLANKS)
    for i, ch in enumerate(s):
        if ch in BLANKS:
            return s[:i], s[i:].strip(BLANKS)
    return s, ""


def nodes(lines: list[str]) -> Iterator[Node]:
    """Group physical lines into logical instructions (``lines[0]`` is line 1)."""
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if _is_blank(line) or _is_comment(line):
            i += 1
            continue
        first = end = i + 1
        part, more = _continues(line)
        parts = [part]
        i += 1
        while more and i < n:
            line = lines[i]
            i += 1
            if _is_blank(line) or _is_comment(line):
                continue
            part, more = _continues(line)
            parts.append(part)
            end = i
        logical = "".join(parts)
        while more:  # continued into end of file: every trailing backslash is a continuation to nothing
            logical, more = _continues(logical)
        keyword, args = split_keyword(logical)
        yield Node(keyword=keyword, args=args, line=first, end_line=end)
