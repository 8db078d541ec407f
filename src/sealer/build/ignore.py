"""``.sealerignore``: docker's ``.dockerignore`` semantics (moby ``patternmatcher``), and BuildKit-style COPY globs.

Ignore file, one pattern per line:

* ``#`` starts a comment line; blank lines are skipped; surrounding whitespace and a leading ``/`` are dropped;
  each pattern is cleaned like a path (``a//b/./c`` → ``a/b/c``);
* ``*`` matches any run of characters except ``/``, ``?`` one such character, ``[a-z]`` a class,
  ``\\`` escapes; ``**`` matches any number of directories, including none (``**/*.tmp``, ``a/**/b``);
* a pattern that matches a directory excludes everything below it;
* ``!pattern`` re-includes what an earlier pattern excluded; the last matching line wins.

COPY sources with wildcards follow the same syntax (``**`` included) and are matched against every path in the
context; ignored paths never match.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass

from sealer.errors import BuildError

_SPECIAL = set(".+()|{}$^")


def _clean(pattern: str) -> str:
    p = posixpath.normpath(pattern.replace("\\\\", "/")) if pattern else ""
    p = p.lstrip("/")
    return "" if p == "." else p


class PatternError(ValueError):
    """A pattern docker would refuse (``[]``, ``[!]``: Go's ``filepath.ErrBadPattern``)."""


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression of one pattern (docker's translation); :class:`PatternError` for a bad one."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 1
                if i + 1 < n and pattern[i + 1] == "/":
                    i += 1
                out.append(".*" if i + 1 >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:j]
                if body in ("", "!", "^"):  # an empty class: Go's filepath.Match says ErrBadPattern
                    raise PatternError(f"syntax error in pattern {pattern!r} (empty character class)")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif ch in _SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as e:
        raise PatternError(f"syntax error in pattern {pattern!r} ({e.msg})") from None


@dataclass(frozen=True)
class _Rule:
    text: str
    regex: re.Pattern[str]
    exclusion: bool


class IgnoreRules:
    """The parsed ignore file; :meth:`ignored` answers for a context-relative path."""

    def __init__(self, patterns: list[str], source: str | None = None) -> None:
        """``source``: the ignore file's path, named (with the line) when a pattern is bad."""
        rules = []
        for lineno, raw in enumerate(patterns, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            exclusion = text.startswith("!")
            body = _clean(text[1:].strip() if exclusion else text)
            if not body:
                continue
            try:
                rules.append(_Rule(text, compile_pattern(body), exclusion))
            except PatternError as e:
                raise BuildError(str(e), source, lineno if source is not None else None) from None
        self.rules = tuple(rules)
        self.has_exceptions = any(r.exclusion for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def ignored(self, rel: str) -> bool:
        rel = _clean(rel)
        if not rel or not self.rules:
            return False
        parents = rel.split("/")[:-1]
        matched = False
        for rule in self.rules:
            if rule.exclusion != matched:
                continue
            hit = bool(rule.regex.match(rel))
            if not hit:
                hit = any(rule.regex.match("/".join(parents[:i + 1])) for i in range(len(parents)))
            if hit:
                matched = not rule.exclusion
        return matched

    def prune(self, rel_dir: str) -> bool:
        """True when a walk can skip the whole directory (ignored, and no ``!`` rule could bring a child back)."""
        return not self.has_exceptions and self.ignored(rel_dir)


def load(context: str, name: str) -> IgnoreRules:
    path = os.path.join(context, name)
    if not os.path.isfile(path):
        return IgnoreRules([])
    with open(path, encoding="utf-8", errors="replace") as f:
        return IgnoreRules(f.read().splitlines(), path)


def has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def glob_context(pattern: str, ctx: str, rules: IgnoreRules) -> tuple[list[str], int]:
    """Context-relative paths matching a COPY wildcard source (``**`` included; dot files match like any
    other, as in docker), minus ignored ones; also returns how many matches the ignore file removed."""
    rx = compile_pattern(_clean(pattern))
    depth_limited = "**" not in pattern
    want_depth = _clean(pattern).count("/")
    matches: list[str] = []
    dropped = 0
    for dirpath, dirnames, filenames in os.walk(ctx):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, ctx)
        rel_dir = "" if rel_dir == "." else rel_dir
        level = 0 if not rel_dir else rel_dir.count("/") + 1
        for name in [*dirnames, *sorted(filenames)]:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rx.match(rel):
                if rules.ignored(rel):
                    dropped += 1
                else:
                    matches.append(rel)
        if depth_limited and level >= want_depth:
            dirnames[:] = []  # deeper paths cannot match a pattern without **
        else:
            dirnames[:] = [d for d in dirnames if not rules.prune(f"{rel_dir}/{d}" if rel_dir else d)]
    # a directory matched by the pattern is copied whole: drop matches inside another match
    matches.sort()
    kept: list[str] = []
    for m in matches:
        if not any(m.startswith(k + "/") for k in kept):
            kept.append(m)
    return kept, dropped
