"""Find the data fields a Go ``text/template`` reads from its root, with their lines.

Why: the Helm engine's ``tpl`` runs with ``missingkey=zero`` and blanks ``<no value>``,
so a misspelt ``{{ .Mastr }}`` would silently render as an empty string. Go's own
``missingkey=error`` is not reachable through ``tpl``, so before rendering we lex the
template (actions, strings, raw strings, comments, trim markers) and check every
field read from the root data — ``.Name`` where dot is the root, and ``$.Name``
anywhere — against the variables we pass. Dot is tracked through ``if`` (unchanged),
``range``/``with`` (the element inside, the outer dot in their ``else``),
``define``/``block`` (unknown: not checked). Field access *below* a variable
(``.CertSANS.Foo``) and through ``$var`` is left to Go, which errors on it itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<rootfield>\$\.(?P<rootname>""" + _IDENT + r"""))
  | (?P<var>\$""" + _IDENT + r"""?)
  | (?P<field>\.(?P<fieldname>""" + _IDENT + r"""))
  | (?P<ident>""" + _IDENT + r""")
  | (?P<number>[-+]?[0-9][0-9a-fA-FxXoObB_.eEpPi+-]*)
  | (?P<punct>:=|[=(),|.])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class FieldRef:
    """A read of ``name`` from the template's root data, at ``line`` (1-based)."""

    name: str
    line: int


@dataclass
class _Frame:
    kind: str  # root | if | range | with | define
    dot_is_root: bool | None  # None: unknown (inside define/block)
    outer: bool | None


@dataclass(frozen=True)
class _Action:
    body: str
    line: int


def _actions(text: str) -> Iterator[_Action]:
    """Yield the inside of each ``{{ ... }}`` action with the line it starts on."""
    i = 0
    n = len(text)
    while True:
        start = text.find("{{", i)
        if start < 0:
            return
        j = start + 2
        # Scan to the closing "}}", skipping quoted strings and comments.
        while j < n:
            c = text[j]
            if text.startswith("}}", j):
                break
            if text.startswith("/*", j):
                end = text.find("*/", j + 2)
                j = n if end < 0 else end + 2
                continue
            if c in "\"'":
                k = j + 1
                while k < n and text[k] != c and text[k] != "\n":
                    k += 2 if text[k] == "\\" else 1
                j = k + 1
                continue
            if c == "`":
                end = text.find("`", j + 1)
                j = n if end < 0 else end + 1
                continue
            j += 1
        yield _Action(text[start + 2 : j], text.count("\n", 0, start) + 1)
        i = j + 2
        if j >= n:
            return


def _tokens(action: _Action) -> list[tuple[str, str, int, bool]]:
    """(kind, value, line, glued-to-previous) for each token of one action."""
    body = action.body
    if body.startswith("-") and body[1:2].isspace():
        body = " " + body[1:]
    if body.endswith("-") and body[-2:-1].isspace():
        body = body[:-1] + " "
    out: list[tuple[str, str, int, bool]] = []
    line = action.line
    prev_end_glued = False
    for m in _TOKEN.finditer(body):
        kind = m.lastgroup or "other"
        value = m.group(0)
        if kind in ("rootname", "fieldname"):  # pragma: no cover - inner groups never last
            continue
        if kind == "rootfield":
            out.append(("rootfield", m.group("rootname"), line, False))
        elif kind == "field":
            out.append(("field", m.group("fieldname"), line, prev_end_glued))
        elif kind not in ("ws", "comment"):
            out.append((kind, value, line, False))
        # a field glued to a preceding ")", variable, field or identifier is a chain
        prev_end_glued = kind in ("field", "var", "rootfield") or (kind == "punct" and value == ")")
        line += value.count("\n")
    return out


def root_field_refs(text: str) -> list[FieldRef]:
    """Every field the template reads from its root data (see module docstring)."""
    refs: list[FieldRef] = []
    stack = [_Frame("root", True, True)]

    def collect(tokens: list[tuple[str, str, int, bool]], dot_is_root: bool | None) -> None:
        for kind, value, line, glued in tokens:
            from_root = kind == "rootfield" and not _inside_define(stack)
            from_dot = kind == "field" and not glued and dot_is_root
            if from_root or from_dot:
                refs.append(FieldRef(value, line))

    for action in _actions(text):
        toks = _tokens(action)
        if not toks:
            continue
        head_kind, head, _, _ = toks[0]
        top = stack[-1]
        keyword = head if head_kind == "ident" else ""
        rest = toks[1:]
        if keyword == "if":
            collect(rest, top.dot_is_root)
            stack.append(_Frame("if", top.dot_is_root, top.dot_is_root))
        elif keyword in ("range", "with"):
            collect(rest, top.dot_is_root)
            stack.append(_Frame(keyword, False if top.dot_is_root is not None else None, top.dot_is_root))
        elif keyword == "else":
            sub = rest[0][1] if rest and rest[0][0] == "ident" else ""
            if top.kind in ("range", "with"):
                top.dot_is_root = top.outer
            if sub == "if":
                collect(rest[1:], top.dot_is_root)
            elif sub == "with":
                collect(rest[1:], top.outer)
                top.dot_is_root = False if top.outer is not None else None
        elif keyword in ("define", "block"):
            if keyword == "block":
                collect(rest, top.dot_is_root)
            stack.append(_Frame("define", None, top.dot_is_root))
        elif keyword == "end":
            if len(stack) > 1:
                stack.pop()
        else:
            collect(toks, top.dot_is_root)
    return refs


def _inside_define(stack: list[_Frame]) -> bool:
    return any(f.kind == "define" for f in stack)
