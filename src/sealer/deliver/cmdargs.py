"""CMD arguments in the CMDs master0 runs: ``$KEY``/``${KEY}`` (and ``${KEY:-word}``, ``${KEY:+word}``,
``${KEY:?msg}``, ...) take the value given by ``--cmd-args KEY=VALUE`` / ``spec.cmd_args``.

sealer v0.8.7 (``pkg/guest/guest.go``, ``Default.Apply`` and ``getGuestCmdArg``) passes every CMD line through
BuildKit's ``shell.Lex.ProcessWordWithMap`` with the CMD args (over the image's ARG values) and runs the result
as ``cd <rootfs> && <line>``: the value is pasted into the shell text, so a value with blanks is split into
several words and one with ``;``, ``$(...)``, quotes or backquotes is run as shell code. Here the value never
becomes shell text: each CMD that refers to an argument gets a private shell variable holding the value
(``__sealer_cmd_arg_KEY='...'``, quoted with :func:`shlex.quote`), and the reference is renamed to it, in
double quotes where it stands outside them — so the shell expands it as one word, unsplit, unglobbed and never
parsed (outside double quotes, ``$KEY`` with an empty value makes no word, as the vanished text does in sealer:
``${__sealer_cmd_arg_KEY:+"${__sealer_cmd_arg_KEY}"}``). The ``${KEY<op>word}`` forms keep their meaning (bash's ``-``, ``+``, ``?`` with or without ``:`` are
BuildKit's); a ``${KEY:?msg}`` whose value is empty is reported before anything is sent, as sealer's lexer does.

Names that are not CMD arguments are left to the shell (BuildKit would make them empty: ``$PATH`` in a CMD
would vanish), single-quoted text is not expanded (as in BuildKit), and the CMD's own quotes stay for the
shell (BuildKit removes them before the shell sees the line). A CMD without references to an argument is run
unchanged, so its ``cmds`` phase marker does not change.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from sealer.deliver.errors import DeliveryError

PREFIX = "__sealer_cmd_arg_"


class _Rewriter:
    def __init__(self, text: str, args: Mapping[str, str]) -> None:
        self.s = text
        self.i = 0
        self.args = args
        self.used: list[str] = []

    def fail(self, what: str) -> DeliveryError:
        return DeliveryError(f"CMD {self.s!r}: {what}")

    def run(self, stop: str, dq: bool) -> str:
        """Copy shell text until ``stop`` (consumed; "" = the end), renaming argument references. ``dq``: the
        text is inside double quotes (an expansion there is not split)."""
        out: list[str] = []
        s, n = self.s, len(self.s)
        while self.i < n:
            ch = s[self.i]
            if stop and ch == stop:
                self.i += 1
                return "".join(out)
            if ch == "#" and not stop and (self.i == 0 or s[self.i - 1] in " \t\n;&|"):
                end = s.find("\n", self.i)   # a comment, to the end of its line, is not read
                end = n if end < 0 else end
                out.append(s[self.i:end])
                self.i = end
            elif ch == "\\":
                out.append(s[self.i:self.i + 2])
                self.i += 2
            elif ch == "'" and not dq:
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise self.fail("a single quote is not closed")
                out.append(s[self.i:end + 1])
                self.i = end + 1
            elif ch == '"' and stop != '"':
                self.i += 1
                out.append('"' + self.run('"', True) + '"')
            elif ch == "`":
                self.i += 1
                out.append("`" + self.run("`", False) + "`")
            elif ch == "$":
                out.append(self.dollar(dq))
            else:
                out.append(ch)
                self.i += 1
        if stop:
            raise self.fail({'"': "a double quote is not closed", "`": "a backquote is not closed",
                             "}": "a ${ is not closed", ")": "a $( is not closed"}[stop])
        return "".join(out)

    def name_at(self, j: int) -> str:
        k = j
        while k < len(self.s) and (self.s[k].isascii() and (self.s[k].isalnum() or self.s[k] == "_")):
            k += 1
        name = self.s[j:k]
        return "" if name[:1].isdigit() else name

    def use(self, name: str) -> str:
        if name not in self.used:
            self.used.append(name)
        return PREFIX + name

    def dollar(self, dq: bool) -> str:
        s = self.s
        j = self.i + 1
        nxt = s[j] if j < len(s) else ""
        if nxt == "(":
            self.i = j + 1
            return "$(" + self.parens()
        if nxt and nxt in "$?!@*#-0123456789":   # special parameters: the shell's
            self.i = j + 1
            return "$" + nxt
        if nxt != "{":
            name = self.name_at(j)
            self.i = j + len(name) if name else j
            if name and name in self.args:
                return self.simple(name, dq)
            return "$" + name
        # ${...}: an optional # (length), the name, then an operator and a word up to the matching }
        k = j + 1
        hash_ = s[k] == "#" if k < len(s) else False
        name = self.name_at(k + 1 if hash_ else k)
        if hash_ and not name:   # ${#} (number of positional parameters)
            hash_ = False
        start = (k + 1 if hash_ else k) + len(name)
        self.i = start
        rest = self.run("}", dq)
        if not name or name not in self.args:
            return "${" + ("#" if hash_ else "") + name + rest + "}"
        self.check_required(name, rest)
        if not rest and not hash_:
            return self.simple(name, dq)
        ref = "${" + ("#" if hash_ else "") + self.use(name) + rest + "}"
        return ref if dq else f'"{ref}"'

    def simple(self, name: str, dq: bool) -> str:
        """``$KEY``/``${KEY}``: one word holding the value; outside double quotes an empty value makes no word
        (as in sealer, where the empty text vanishes)."""
        var = self.use(name)
        return "${" + var + "}" if dq else '${' + var + ':+"${' + var + '}"}'

    def check_required(self, name: str, rest: str) -> None:
        """sealer's lexer fails on ``${KEY:?msg}`` with an empty value (``${KEY?msg}`` only when unset)."""
        if rest.startswith(":?") and self.args[name] == "":
            msg = rest[2:] or "parameter null or not set"
            raise self.fail(f"${{{name}:?...}}: --cmd-args/cmd_args {name} is empty ({msg})")

    def parens(self) -> str:
        """The rest of ``$( ... )`` or ``$(( ... ))``: a new unquoted context; nested parentheses counted."""
        out: list[str] = []
        depth = 1
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == ")":
                depth -= 1
                self.i += 1
                out.append(")")
                if depth == 0:
                    return "".join(out)
                continue
            if ch == "(":
                depth += 1
                self.i += 1
                out.append("(")
                continue
            # one token of shell text (quotes, $, escapes) with the unquoted rules, stopping before ( or )
            stop_at = self.i
            while stop_at < len(self.s) and self.s[stop_at] not in "()'\"`$\\":
                stop_at += 1
            if stop_at > self.i:
                out.append(self.s[self.i:stop_at])
                self.i = stop_at
                continue
            if ch == "'":
                end = self.s.find("'", self.i + 1)
                if end < 0:
                    raise self.fail("a single quote is not closed")
                out.append(self.s[self.i:end + 1])
                self.i = end + 1
            elif ch == "\\":
                out.append(self.s[self.i:self.i + 2])
                self.i += 2
            elif ch == '"':
                self.i += 1
                out.append('"' + self.run('"', True) + '"')
            elif ch == "`":
                self.i += 1
                out.append("`" + self.run("`", False) + "`")
            else:  # $
                out.append(self.dollar(False))
        raise self.fail("a $( is not closed")


def render_cmd(cmd: str, args: Mapping[str, str]) -> str:
    """``cmd`` with its references to ``args`` renamed to private variables, set in front of it; ``cmd``
    itself when it refers to none."""
    if not args or "$" not in cmd:
        return cmd
    rw = _Rewriter(cmd, args)
    text = rw.run("", False)
    if not rw.used:
        return cmd
    assigns = " ".join(f"{PREFIX}{k}={shlex.quote(args[k])}" for k in rw.used)
    return f"{assigns}; {text}"


def render(cmds: Sequence[str], args: Mapping[str, str]) -> list[str]:
    """Every CMD line with the CMD arguments (see the module docstring); an unusable line is a
    :class:`DeliveryError` raised before anything is sent."""
    return [render_cmd(c, args) for c in cmds]


def unused(cmds: Sequence[str], args: Mapping[str, str]) -> list[str]:
    """The arguments no CMD refers to (sealer ignores them silently; delivery notes them)."""
    seen: set[str] = set()
    for c in cmds:
        if args and "$" in c:
            rw = _Rewriter(c, args)
            rw.run("", False)
            seen.update(rw.used)
    return [k for k in args if k not in seen]
