"""Logical lines -> typed instructions, with ``FILE:LINE`` errors. Pure except :func:`parse_file`.

Rules beyond Docker's line syntax (see :mod:`sealer.kubefile.lexer`):

* Keywords are case-insensitive ASCII: ``FROM``, ``COPY``, ``RUN``, ``CMD`` and sealer v0.9's ``ARG``, ``ENV``,
  ``LABEL``, ``MAINTAINER``, ``KUBEVERSION``, ``APP``, ``APPCMDS``, ``APPENV``, ``CNI``, ``CSI``, ``LAUNCH``,
  ``CMDS`` (rules and sealer sources: docs/kubefile.md). Other Dockerfile instructions (``ADD``, ...) are
  refused by name; near-misses get "did you mean".
* ``FROM`` comes first (only ``ARG`` may precede it), exactly once: ``scratch`` (any case) or an image
  reference (validated with :func:`sealer.reference.parse`), optionally ``--platform=`` and ``AS name``.
* ``${k}``/``$k`` expand with BuildKit's shell-lexer rules (:mod:`sealer.kubefile.shellex`) in FROM, COPY,
  ENV, LABEL, KUBEVERSION, APP sources and ARG defaults; ``${ARCH}`` in COPY is the build platform's arch.
* ``LAUNCH``/``CMDS``: at most one, last, mutually exclusive, and exclusive with ``CMD``. APPCMDS/APPENV/
  LAUNCH name existing apps (of this Kubefile, or of the FROM image: :func:`check_apps`).
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
import logging
import os
import re
from collections.abc import Callable, Collection, Mapping

from sealer.errors import KubefileError, ReferenceError_
from sealer.kubefile.instructions import (
    BLANKS,
    REMOTE_SCHEMES,
    SCHEME_LOCAL,
    SCRATCH,
    App,
    AppCmds,
    AppEnv,
    Arg,
    Cmd,
    Cmds,
    Copy,
    Env,
    From,
    Instruction,
    Kubefile,
    KubeVersion,
    Label,
    Launch,
    Location,
    Maintainer,
    Run,
)
from sealer.kubefile.lexer import MAX_FILE_BYTES, Node, decode, nodes
from sealer.kubefile.shellex import expand_at
from sealer.reference import parse as parse_reference

KEYWORDS = ("FROM", "COPY", "RUN", "CMD", "ARG", "ENV", "LABEL", "MAINTAINER", "KUBEVERSION", "APP", "APPCMDS",
            "APPENV", "CNI", "CSI", "LAUNCH", "CMDS")
# Dockerfile instructions a Kubefile does not have, with what to use instead.
log = logging.getLogger(__name__)
_DOCKERFILE_ONLY = {
    "ADD": "use COPY (or APP name http(s)://url for a remote file)",
    "ENTRYPOINT": "use CMDS or LAUNCH",
    "EXPOSE": "",
    "VOLUME": "",
    "USER": "",
    "WORKDIR": "RUN and CMD start in the rootfs root",
    "ONBUILD": "",
    "STOPSIGNAL": "",
    "HEALTHCHECK": "",
    "SHELL": "RUN and CMD use bash",
}
_WORD_SPLIT = re.compile(f"[{re.escape(BLANKS)}]+")
_RUN_JSON_INTENT = re.compile(f"^\\[[^{re.escape(BLANKS)}\\[]")
_COPY_JSON_INTENT = re.compile(f"^\\[[{re.escape(BLANKS)}]*\"")
_SUPPORTED = "supported: " + ", ".join(KEYWORDS)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _show(text: str, limit: int = 60) -> str:
    """A quoted, length-bounded rendering of user text for error messages."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Parser:
    def __init__(self, filename: str, build_args: Mapping[str, str], arch: str | None,
                 inherited: Collection[str] | None) -> None:
        self.filename = filename
        self.from_line: int | None = None
        self.build_args = dict(build_args)
        self.used_args: set[str] = set()
        self.arch = arch
        self.inherited = inherited
        self.scratch = False
        self.scope: dict[str, str] = {}
        self.apps: dict[str, int] = {}          # name -> line
        self.last: tuple[str, int] | None = None
        self.cmd_line: int | None = None

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

    # -- variables --------------------------------------------------------------------------
    def expand(self, node: Node, text: str, what: str, extra: Mapping[str, str] | None = None) -> str:
        env: Mapping[str, str] = self.scope if not extra else {**self.scope, **extra}
        return expand_at(text, env, self.filename, node.line, what)

    def words(self, node: Node) -> list[str]:
        """Docker's ``parseWords``: blank-separated words, quotes kept (removed by expansion)."""
        return parse_words(node.args)

    def name_values(self, node: Node, keyword: str, legacy: bool) -> tuple[tuple[str, str], ...]:
        """``k=v ...`` words (Docker's parseNameVal); ``legacy``: also ``KEY value with blanks``."""
        words = self.words(node)
        if not words:
            raise self.error(node, f"{keyword} needs at least one key=value (e.g. {keyword} version=1.0)")
        if "=" not in words[0]:
            if not legacy or len(words) < 2:
                raise self.error(node, f"{keyword} {_show(words[0])}: want key=value")
            key = self.expand(node, words[0], keyword)
            return ((key, self.expand(node, node.args.split(None, 1)[1], keyword)),)
        return self.pairs(node, keyword, words)

    def pairs(self, node: Node, keyword: str, words: list[str]) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        for w in words:
            text = self.expand(node, w, keyword)
            key, eq, value = text.partition("=")
            if not eq:
                raise self.error(node, f"{keyword}: {_show(w)} is not key=value (quote values with blanks)")
            if not key:
                raise self.error(node, f"{keyword}: empty key in {_show(w)}")
            out.append((key, value))
        return tuple(out)

    # -- instructions -----------------------------------------------------------------------
    def from_(self, node: Node) -> From:
        args = node.args
        if not args:
            raise self.error(node, "FROM needs a base image (e.g. FROM kubernetes:v1.19.8, or FROM scratch)")
        words = _WORD_SPLIT.split(args)
        platform: str | None = None
        if words[0].startswith("--platform="):
            platform = self.expand(node, words[0][len("--platform="):], "FROM --platform")
            words = words[1:]
        elif words[0].startswith("--"):
            raise self.error(node, f"FROM takes only --platform=OS/ARCH as a flag, not {_show(words[0])}")
        if len(words) == 3 and words[1].upper() == "AS":
            words = words[:1]   # a single stage may be named; the name is not used
        elif len(words) > 1:
            if words[1].upper() == "AS":
                raise self.error(node, "FROM ... AS: want FROM IMAGE AS NAME (one stage; multi-stage builds "
                                       "are not supported)")
            raise self.error(node, f"FROM takes one image (optionally AS NAME), got {len(words)} words: "
                                   f"{_show(args)}")
        if not words:
            raise self.error(node, "FROM needs a base image after --platform")
        image = self.expand(node, words[0], "FROM")
        if not image:
            raise self.error(node, f"FROM: {_show(words[0])} expands to nothing (is an ARG missing? "
                                   "give it with --build-arg NAME=VALUE)")
        if image.isascii() and image.lower() == SCRATCH:
            return From(image=SCRATCH, location=self.location(node), platform=platform)
        try:
            parse_reference(image)
        except ReferenceError_ as e:
            hint = ""
            if "$" in words[0]:
                hint = (f" ({_show(words[0])} expanded to {_show(image)}: declare ARG NAME=DEFAULT before FROM, "
                        "or give --build-arg NAME=VALUE)")
            raise self.error(node, f"FROM: invalid base image: {e}{hint}") from None
        return From(image=image, location=self.location(node), platform=platform)

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
        arch = {"ARCH": self.arch if self.arch is not None else "${ARCH}"}
        expanded = [self.expand(node, w, "COPY", arch) for w in words]
        for raw, w in zip(words, expanded, strict=True):
            if not w:
                raise self.error(node, f"COPY: {_show(raw)} expands to an empty path")
        if len(expanded) == 1:
            return Copy(sources=(expanded[0],), dest=".", location=self.location(node))
        return Copy(sources=tuple(expanded[:-1]), dest=expanded[-1], location=self.location(node))

    def command(self, node: Node, keyword: str, make: Callable[..., Run | Cmd]) -> Run | Cmd:
        args = node.args
        listed = self.json_array(node, keyword, args, _RUN_JSON_INTENT)
        if listed is None:
            if not args:
                raise self.error(node, f"{keyword} needs a command (e.g. {keyword} kubectl apply -f app.yaml)")
            return make(command=args, argv=None, location=self.location(node))
        if not listed:
            raise self.error(node, f"{keyword} needs a command: the JSON array is empty")
        if keyword == "CMD":   # sealer's JSON form: a list of shell commands
            for n, item in enumerate(listed, start=1):
                if not item.strip(BLANKS):
                    raise self.error(node, f"CMD: item {n} is an empty command (the JSON form of CMD is a list "
                                           "of shell commands)")
        elif not listed[0]:
            raise self.error(node, f"{keyword}: the program name (first item of the JSON array) is empty")
        return make(command=None, argv=tuple(listed), location=self.location(node))

    def arg(self, node: Node) -> Arg:
        words = self.words(node)
        if not words:
            raise self.error(node, "ARG needs a name: ARG NAME[=DEFAULT] (set it with --build-arg NAME=VALUE)")
        if len(words) == 1 and "," in words[0] and all("=" in p for p in words[0].split(",")):
            words = [p.strip(BLANKS) for p in words[0].split(",")]   # sealer v0.8: ARG k=v,k2=v2
        pairs: list[tuple[str, str | None]] = []
        for w in words:
            name, eq, default = w.partition("=")
            if not _ARG_NAME.match(name):
                raise self.error(node, f"ARG: invalid name {_show(name)} (letters, digits and _; "
                                       "not starting with a digit)")
            value: str | None = self.expand(node, default, "ARG") if eq else None
            if name in self.build_args:
                value = self.build_args[name]
                self.used_args.add(name)
            if value is not None:
                self.scope[name] = value
            pairs.append((name, value))
        return Arg(pairs=tuple(pairs), location=self.location(node))

    def env(self, node: Node) -> Env:
        pairs = self.name_values(node, "ENV", legacy=True)
        for k, v in pairs:
            self.scope[k] = v
        return Env(pairs=pairs, location=self.location(node))

    def label(self, node: Node) -> Label:
        return Label(pairs=self.name_values(node, "LABEL", legacy=True), location=self.location(node))

    def app_name(self, node: Node, keyword: str, word: str | None) -> str:
        if not word:
            raise self.error(node, f"{keyword} needs an app name first (e.g. {keyword} myapp ...)")
        if not _NAME.match(word):
            raise self.error(node, f"{keyword}: invalid app name {_show(word)} (letters, digits, '.', '-', '_')")
        return word

    def app(self, node: Node, keyword: str) -> App:
        listed = self.json_array(node, keyword, node.args, _RUN_JSON_INTENT)
        words = listed if listed is not None else (_WORD_SPLIT.split(node.args) if node.args else [])
        name = self.app_name(node, keyword, words[0] if words else None)
        if name in self.apps:
            raise self.error(node, f"{keyword} {name}: the app is already defined at line {self.apps[name]}")
        if len(words) < 2:
            raise self.error(node, f"{keyword} {name} needs at least one source: local://PATH or http(s)://URL")
        sources: list[str] = []
        for w in words[1:]:
            src = self.expand(node, w, keyword)
            if src.startswith(SCHEME_LOCAL):
                if not src[len(SCHEME_LOCAL):]:
                    raise self.error(node, f"{keyword} {name}: {_show(w)} names no path")
            elif not src.startswith(REMOTE_SCHEMES):
                raise self.error(node, f"{keyword} {name}: source {_show(w)} has no scheme; write "
                                       f"local://{src} for a build-context path or an http:// or https:// URL")
            sources.append(src)
        self.apps[name] = node.line
        return App(name=name, sources=tuple(sources), location=self.location(node), kind=keyword)

    def appcmds(self, node: Node) -> AppCmds:
        name_word, _, rest = node.args.partition(" ")
        name = self.app_name(node, "APPCMDS", name_word.strip(BLANKS))
        rest = rest.strip(BLANKS)
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if not isinstance(value, list) or not value or not all(isinstance(x, str) and x for x in value):
            raise self.error(node, f'APPCMDS {name}: want a JSON array of shell commands, '
                                   f'e.g. APPCMDS {name} ["kubectl apply -f app.yaml"], got {_show(rest)}')
        self.need_app(node, "APPCMDS", name)
        return AppCmds(name=name, commands=tuple(value), location=self.location(node))

    def appenv(self, node: Node) -> AppEnv:
        words = self.words(node)
        name = self.app_name(node, "APPENV", words[0] if words else None)
        self.need_app(node, "APPENV", name)
        pairs = self.pairs(node, f"APPENV {name}", words[1:])
        if not pairs:
            raise self.error(node, f"APPENV {name} needs at least one key=value")
        return AppEnv(name=name, pairs=tuple(pairs), location=self.location(node))

    def list_of(self, node: Node, keyword: str, example: str) -> tuple[str, ...]:
        listed = self.json_array(node, keyword, node.args, _RUN_JSON_INTENT)
        words = listed if listed is not None else (_WORD_SPLIT.split(node.args) if node.args else [])
        if not words or not all(words):
            raise self.error(node, f"{keyword} needs a non-empty JSON array, e.g. {keyword} {example}")
        return tuple(words)

    def need_app(self, node: Node, keyword: str, name: str) -> None:
        if name in self.apps or (self.inherited is not None and name in self.inherited):
            return
        if self.inherited is None and not self.scratch:
            return   # may come from the base image: check_apps() at build, once the base is known
        known = sorted(set(self.apps) | set(self.inherited or ()))
        where = f"; apps defined: {', '.join(known)}" if known else "; no APP is defined"
        raise self.error(node, f"{keyword}: app {_show(name)} does not exist in the image{where}")

    def instruction(self, node: Node, index: int) -> Instruction:
        keyword = self.keyword(node)
        if keyword == "FROM":
            if self.from_line is not None:
                raise self.error(node, f"second FROM (the first is at line {self.from_line}): a Kubefile has "
                                       "exactly one FROM; multi-stage builds are not supported")
            self.from_line = node.line
            base = self.from_(node)
            self.scratch = base.is_scratch
            return base
        if keyword == "ARG":
            return self.arg(node)   # may come before FROM (its value can be used in FROM)
        if self.from_line is None:
            raise self.error(node, f"the first instruction must be FROM (only ARG may come before it), "
                                   f"found {keyword}")
        if self.last is not None and keyword in ("LAUNCH", "CMDS"):
            if keyword == self.last[0]:
                raise self.error(node, f"only one {keyword} may be given (the first is at line {self.last[1]})")
            raise self.error(node, f"LAUNCH and CMDS are mutually exclusive ({self.last[0]} at line {self.last[1]})")
        if self.last is not None:
            raise self.error(node, f"{self.last[0]} must be the last instruction (it is at line {self.last[1]}); "
                                   f"move {keyword} above it")
        if keyword == "COPY":
            return self.copy(node)
        if keyword in ("RUN", "CMD"):
            made = self.command(node, keyword, Run if keyword == "RUN" else Cmd)
            if keyword == "CMD" and self.cmd_line is None:
                self.cmd_line = node.line
                log.warning("%s:%d: CMD is deprecated by sealer; use CMDS [...] or APP + LAUNCH",
                            self.filename, node.line)
            return made
        if keyword == "ENV":
            return self.env(node)
        if keyword == "LABEL":
            return self.label(node)
        if keyword == "MAINTAINER":
            return Maintainer(name=node.args, location=self.location(node))
        if keyword == "KUBEVERSION":
            value = self.expand(node, node.args, "KUBEVERSION")
            if not value:
                raise self.error(node, 'KUBEVERSION needs a version constraint, e.g. KUBEVERSION ">=1.20.0"')
            return KubeVersion(constraint=value, location=self.location(node))
        if keyword in ("APP", "CNI", "CSI"):
            return self.app(node, keyword)
        if keyword == "APPCMDS":
            return self.appcmds(node)
        if keyword == "APPENV":
            return self.appenv(node)
        if keyword == "LAUNCH":
            apps = self.list_of(node, "LAUNCH", '["app1", "app2"]')
            if self.cmd_line is not None:
                raise self.error(node, f"LAUNCH and CMD are mutually exclusive (CMD at line {self.cmd_line}); "
                                       "use LAUNCH with APPCMDS, or CMDS")
            for name in apps:
                self.need_app(node, "LAUNCH", name)
            self.last = ("LAUNCH", node.line)
            return Launch(apps=apps, location=self.location(node))
        assert keyword == "CMDS"
        cmds = self.list_of(node, "CMDS", '["kubectl apply -f manifests/app.yaml"]')
        if self.cmd_line is not None:
            raise self.error(node, f"CMDS and the deprecated CMD are mutually exclusive (CMD at line "
                                   f"{self.cmd_line}); put all commands in CMDS")
        self.last = ("CMDS", node.line)
        return Cmds(commands=cmds, location=self.location(node))


def parse_words(rest: str) -> list[str]:
    """Docker's ``parseWords``: split on blanks outside quotes; quotes and backslashes are kept."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    blank_ok = False
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote != "'" and i + 1 < n:
                word.append(ch)
                i += 1
                ch = rest[i]
            word.append(ch)
        elif ch in BLANKS:
            if word or blank_ok:
                words.append("".join(word))
            word, blank_ok = [], False
        else:
            if ch in "'\"":
                quote, blank_ok = ch, True
            elif ch == "\\" and i + 1 < n:
                word.append(ch)
                i += 1
                ch = rest[i]
            word.append(ch)
        i += 1
    if word or blank_ok:
        words.append("".join(word))
    return words


def parse(data: str | bytes, filename: str = "Kubefile", *, build_args: Mapping[str, str] | None = None,
          arch: str | None = None, inherited_apps: Collection[str] | None = None) -> Kubefile:
    """Parse Kubefile text. Raises only :class:`KubefileError` (``FILE:LINE: message``).

    ``build_args`` override ARG defaults (``--build-arg``); ``arch`` is what ``$ARCH``/``${ARCH}`` in COPY
    sources become (``None`` keeps them as ``${ARCH}``: resolved per platform at build time).
    ``inherited_apps``: the apps of the FROM image; ``None`` when unknown, then references to apps not
    defined in this Kubefile are left to :func:`check_apps` (``FROM scratch`` inherits nothing).
    """
    parser = _Parser(filename, build_args or {}, arch, inherited_apps)
    lines = decode(data, filename)
    instructions = tuple(parser.instruction(node, i) for i, node in enumerate(nodes(lines)))
    if not instructions:
        raise KubefileError("no instructions: a Kubefile needs at least a FROM line", filename)
    if parser.from_line is None:
        raise KubefileError("no FROM: a Kubefile needs a FROM line", filename, instructions[0].location.line)
    for name in sorted(set(parser.build_args) - parser.used_args):
        log.warning("%s: --build-arg %s is not declared by an ARG in the Kubefile (ignored)", filename, name)
    if parser.from_line != instructions[0].location.line:   # ARGs first: keep FROM first for the builder
        first = [i for i in instructions if isinstance(i, From)]
        instructions = (*first, *(i for i in instructions if not isinstance(i, From)))
    kf = Kubefile(instructions=instructions, filename=filename)
    if inherited_apps is not None:
        check_apps(kf, inherited_apps)
    return kf


def check_apps(kubefile: Kubefile, inherited: Collection[str]) -> None:
    """APPCMDS/APPENV/LAUNCH name only apps this Kubefile or its FROM image defines."""
    known = set(inherited) | {a.name for a in kubefile.apps}
    for ins in kubefile.instructions:
        names: tuple[str, ...] = ()
        if isinstance(ins, Launch):
            names = ins.apps
        elif isinstance(ins, AppCmds | AppEnv):
            names = (ins.name,)
        for name in names:
            if name not in known:
                where = f"; apps defined: {', '.join(sorted(known))}" if known else "; no APP is defined"
                raise KubefileError(f"{ins.keyword}: app {_show(name)} does not exist in the image{where}",
                                    kubefile.filename, ins.location.line)


def parse_file(path: str | os.PathLike[str], *, build_args: Mapping[str, str] | None = None,
               arch: str | None = None, inherited_apps: Collection[str] | None = None) -> Kubefile:
    """Read and parse a Kubefile; the error location is ``path`` as given."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise KubefileError(f"read Kubefile: {e.strerror or e}", name) from None
    return parse(data, name, build_args=build_args, arch=arch, inherited_apps=inherited_apps)
