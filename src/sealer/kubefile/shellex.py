"""Variable expansion in one word with BuildKit's shell-lexer rules (``frontend/dockerfile/shell``).

This is what ``ProcessWordWithMap`` does, which sealer uses for ``COPY ${ARCH}/...`` and which buildah
applies to ``FROM``/``COPY``/``ENV``/``LABEL``/``ARG`` after sealer turns a Kubefile into a Dockerfile:

* ``$name`` and ``${name}``; an unset variable expands to the empty string.
* ``${name:-word}`` / ``${name-word}`` (default), ``${name:+word}`` / ``${name+word}`` (alternative),
  ``${name:?msg}`` / ``${name?msg}`` (error when unset/empty). ``word`` is expanded in turn.
* ``'...'`` is literal, ``"..."`` expands variables; the quotes themselves are removed.
* ``\\`` escapes the next character outside quotes; inside double quotes only before ``"``, ``$`` and
  ``\\`` (otherwise it stays). A ``$`` not followed by a name is literal.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealer.errors import KubefileError


class ExpandError(ValueError):
    """A word that cannot be expanded (unterminated quote or ``${``, ``${x:?msg}`` on an unset x)."""


def _is_name_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.s = text
        self.i = 0
        self.env = env

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def word(self, stop: str = "") -> str:
        """Process until ``stop`` (consumed) or the end of text."""
        out: list[str] = []
        while self.i < len(self.s):
            ch = self.peek()
            if stop and ch == stop:
                self.i += 1
                return "".join(out)
            if ch == "'":
                self.i += 1
                out.append(self.single_quoted())
            elif ch == '"':
                self.i += 1
                out.append(self.double_quoted())
            elif ch == "$":
                self.i += 1
                out.append(self.dollar())
            elif ch == "\\":
                self.i += 1
                if self.i < len(self.s):
                    out.append(self.next())
            else:
                out.append(self.next())
        if stop:
            raise ExpandError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def single_quoted(self) -> str:
        end = self.s.find("'", self.i)
        if end < 0:
            raise ExpandError("unexpected end of statement while looking for matching single-quote")
        text = self.s[self.i:end]
        self.i = end + 1
        return text

    def double_quoted(self) -> str:
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise ExpandError("unexpected end of statement while looking for matching double-quote")
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            if ch == "\\":
                nxt = self.peek()
                if nxt == "":
                    continue
                if nxt in '"$\\':
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        start = self.i
        if self.peek().isascii() and self.peek().isdigit():
            self.i += 1
            return self.s[start:self.i]
        while self.i < len(self.s) and _is_name_char(self.s[self.i]):
            self.i += 1
        return self.s[start:self.i]

    def dollar(self) -> str:
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.i += 1
        name = self.name()
        if not name:
            raise ExpandError("bad substitution: ${ without a variable name")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch == "":
            raise ExpandError("unexpected end of statement while looking for matching }")
        if ch not in ("-", "+", "?"):
            raise ExpandError(f"unsupported modifier ({ch or 'end of word'}) in substitution of ${{{name}}}")
        word = self.word(stop="}")
        value = self.env.get(name)
        unset = value is None or (colon and value == "")
        if ch == "-":
            return word if unset else str(value)
        if ch == "+":
            return "" if unset else word
        if unset:
            raise ExpandError(f"{name}: {word or 'is not allowed to be unset'}")
        return str(value)


def expand(text: str, env: Mapping[str, str]) -> str:
    """Expand one word as BuildKit's ``ProcessWordWithMap``; raises :class:`ExpandError`."""
    if "$" not in text and "\\" not in text and "'" not in text and '"' not in text:
        return text
    return _Lexer(text, env).word()


def expand_at(text: str, env: Mapping[str, str], filename: str, line: int, what: str) -> str:
    """:func:`expand` with errors as ``FILE:LINE: WHAT: ...``."""
    try:
        return expand(text, env)
    except ExpandError as e:
        raise KubefileError(f"{what}: {e}", filename, line) from None
