"""Logical lines -> typed instructions, with ``FILE:LINE`` errors. Pure except :func:`parse_file`.

Rules beyond Docker's line syntax (see :mod:`sealer.kubefile.lexer`):

* Keywords are case-insensitive ASCII: ``FROM``, ``COPY``, ``RUN``, ``CMD``. Other Dockerfile
  instructions (``ADD``, ``ENV``, ...) are refused by name; near-misses get "did you mean".
* ``FROM`` comes first, exactly once, with exactly one word: ``scratch`` (any case) or an image
  reference (validated with :func:`sealer.reference.parse`, kept as written).
* Exec (JSON-array) form: an argument that parses as a JSON array is exec form and must hold only
  strings (no NUL). Docker silently falls back to shell form for malformed JSON; we refuse it
  when the writer clearly meant JSON:

  - ``RUN``/``CMD``: ``[`` directly followed by a character other than a blank or ``[``
    (``["kubectl", 'apply']``, ``[kubectl]``). ``[ -f x ] && ...`` and ``[[ ... ]]`` stay shell.
  - ``COPY``: ``[`` followed (after blanks) by ``"``; ``COPY [ab].txt dir/`` stays a glob.
* ``COPY a`` means ``COPY a .``; ``COPY a b c dir/`` copies several sources. Leading ``--flags``
  (``--chown``, ``--from``) are refused. Paths are kept raw; containment is checked by the build.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable

from sealer.errors import KubefileError, ReferenceError_
from sealer.kubefile.instructions import (
    BLANKS,
    SCRATCH,
    Cmd,
    Copy,
    From,
    Instruction,
    Kubefile,
    Location,
    Run,
)
from sealer.kubefile.lexer import MAX_FILE_BYTES, Node, decode, nodes
from sealer.reference import parse as parse_reference

KEYWORDS = ("FROM", "COPY", "RUN", "CMD")
# Dockerfile instructions a Kubefile does not have, with what to use instead.
_DOCKERFILE_ONLY = {
    "ADD": "use COPY",
    "ENTRYPOINT": "use CMD",
    "ENV": "set variables inside RUN or CMD",
    "ARG": "",
    "LABEL": "",
    "EXPOSE": "",
    "VOLUME": "",
    "USER": "",
    "WORKDIR": "RUN and CMD start in the rootfs root",
    "ONBUILD": "",
    "STOPSIGNAL": "",
    "HEALTHCHECK": "",
    "SHELL": "RUN and CMD use bash",
    "MAINTAINER": "",
}
_WORD_SPLIT = re.compile(f"[{re.escape(BLANKS)}]+")
_RUN_JSON_INTENT = re.compile(f"^\\[[^{re.escape(BLANKS)}\\[]")
_COPY_JSON_INTENT = re.compile(f"^\\[[{re.escape(BLANKS)}]*\"")
_SUPPORTED = "supported: FROM, COPY, RUN, CMD"


def _show(text: str, limit: int = 60) -> str:
    """A quoted, length-bounded rendering of user text for error messages."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Parser:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.from_line: int | None = None

    def error(self, node: Node, message: str) -> KubefileError:
        return KubefileError(message, self.filename, node.line)

    # -- keywords ---------------------------------------------------------------------------
    def keyword(self, node: Node) -> str:
        word = node.keyword
        upper = word.upper() if word.isascii() else word
        if upper in KEYWORDS:
            return upper
        if upper in _DOCKERFILE_ONLY:
            hint = _DOCKERFILE_ONLY[upper]
            hint = f"; {hint}" if hint else ""
            raise self.error(node, f"{upper} is a Dockerfile instruction that Kubefile does not support"
                                   f"{hint} ({_SUPPORTED})")
        guess = difflib.get_close_matches(upper, KEYWORDS, n=1, cutoff=0.6) if len(word) <= 24 else []
        if guess:
            raise self.error(node, f"unknown instruction {_show(word)}: did you mean {guess[0]}?")
        raise self.error(node, f"unknown instruction {_show(word)} ({_SUPPORTED})")

    # -- arguments --------------------------------------------------------------------------
    def json_array(self, node: Node, keyword: str, args: str, intent: re.Pattern[str]) -> list[str] | None:
        """The exec-form list, ``None`` for shell form; refuse JSON the writer clearly meant."""
        if not args.startswith("["):
            return None
        try:
            value = json.loads(args)
        except (ValueError, RecursionError) as e:
            if not intent.match(args):
                return None
            if isinstance(e, json.JSONDecodeError):
                detail = f"{e.msg} at character {e.pos + 1} of the argument"
            elif isinstance(e, RecursionError):
                detail = "nested too deeply"
            else:
                detail = "a number in it is too large"
            example = '["src", "dest/"]' if keyword == "COPY" else '["kubectl", "apply"]'
            raise self.error(node, f"{keyword}: malformed JSON array ({detail}); write a JSON array of "
                                   f"double-quoted strings, e.g. {keyword} {example}") from None
        if not isinstance(value, list):
            return None
        for n, item in enumerate(value, start=1):
            if not isinstance(item, str):
                raise self.error(node, f"{keyword}: malformed JSON array: item {n} is "
                                       f"{type(item).__name__}, not a string")
            if "\x00" in item:
                raise self.error(node, f"{keyword}: NUL character in item {n}")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise self.error(node, f"{keyword}: item {n} holds an unpaired surrogate escape") from None
        return value

    def location(self, node: Node) -> Location:
        return Location(self.filename, node.line, node.end_line)

    # -- instructions -----------------------------------------------------------------------
    def from_(self, node: Node) -> From:
        args = node.args
        if not args:
            raise self.error(node, "FROM needs a base image (e.g. FROM kubernetes:v1.19.8, or FROM scratch)")
        words = _WORD_SPLIT.split(args)
        if len(words) > 1:
            if words[1].upper() == "AS":
                raise self.error(node, "FROM ... AS NAME: multi-stage builds are not supported by Kubefile; "
                                       "FROM takes exactly one image")
            raise self.error(node, f"FROM takes exactly one image, got {len(words)} words: {_show(args)}")
        image = words[0]
        if image.startswith("--"):
            raise self.error(node, f"FROM does not take flags ({_show(image)}); give the platform to sealer build")
        if image.isascii() and image.lower() == SCRATCH:
            return From(image=SCRATCH, location=self.location(node))
        try:
            parse_reference(image)
        except ReferenceError_ as e:
            raise self.error(node, f"FROM: invalid base image: {e}") from None
        return From(image=image, location=self.location(node))

    def copy(self, node: Node) -> Copy:
        args = node.args
        listed = self.json_array(node, "COPY", args, _COPY_JSON_INTENT)
        if listed is None:
            words = _WORD_SPLIT.split(args) if args else []
            if words and words[0].startswith("--"):
                raise self.error(node, f"COPY flags are not supported by Kubefile ({_show(words[0])}); "
                                       'write a source that starts with "--" in JSON form: COPY ["--x", "dest"]')
        else:
            words = listed
            for n, word in enumerate(words, start=1):
                if not word:
                    raise self.error(node, f"COPY: item {n} is an empty path")
        if not words:
            raise self.error(node, "COPY needs a source: COPY SRC... [DEST] (DEST defaults to the rootfs root)")
        if len(words) == 1:
            return Copy(sources=(words[0],), dest=".", location=self.location(node))
        return Copy(sources=tuple(words[:-1]), dest=words[-1], location=self.location(node))

    def command(self, node: Node, keyword: str, make: Callable[..., Run | Cmd]) -> Run | Cmd:
        args = node.args
        listed = self.json_array(node, keyword, args, _RUN_JSON_INTENT)
        if listed is None:
            if not args:
                raise self.error(node, f"{keyword} needs a command (e.g. {keyword} kubectl apply -f app.yaml)")
            return make(command=args, argv=None, location=self.location(node))
        if not listed:
            raise self.error(node, f"{keyword} needs a command: the JSON array is empty")
        if not listed[0]:
            raise self.error(node, f"{keyword}: the program name (first item of the JSON array) is empty")
        return make(command=None, argv=tuple(listed), location=self.location(node))

    def instruction(self, node: Node, index: int) -> Instruction:
        keyword = self.keyword(node)
        if keyword == "FROM":
            if self.from_line is not None:
                raise self.error(node, f"second FROM (the first is at line {self.from_line}): a Kubefile has "
                                       "exactly one FROM; multi-stage builds are not supported")
            self.from_line = node.line
            return self.from_(node)
        if index == 0:
            raise self.error(node, f"the first instruction must be FROM, found {keyword}")
        if keyword == "COPY":
            return self.copy(node)
        return self.command(node, keyword, Run if keyword == "RUN" else Cmd)


def parse(data: str | bytes, filename: str = "Kubefile") -> Kubefile:
    """Parse Kubefile text. Raises only :class:`KubefileError` (``FILE:LINE: message``)."""
    parser = _Parser(filename)
    lines = decode(data, filename)
    instructions = tuple(parser.instruction(node, i) for i, node in enumerate(nodes(lines)))
    if not instructions:
        raise KubefileError("no instructions: a Kubefile needs at least a FROM line", filename)
    return Kubefile(instructions=instructions, filename=filename)


def parse_file(path: str | os.PathLike[str]) -> Kubefile:
    """Read and parse a Kubefile; the error location is ``path`` as given."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise KubefileError(f"read Kubefile: {e.strerror or e}", name) from None
    return parse(data, name)
