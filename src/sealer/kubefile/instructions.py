"""Typed Kubefile instructions: ``From``, ``Copy``, ``Run``, ``Cmd`` and the ``Kubefile`` that holds them.

Every instruction knows where it came from (``location``) and renders a canonical one-line
``text`` (used for build-cache keys and image history). For instructions produced by
:func:`sealer.kubefile.parse`, ``parse(kubefile.text)`` yields the same instruction texts again.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import ClassVar

from sealer.errors import KubefileError
from sealer.reference import Reference
from sealer.reference import parse as parse_reference

SCRATCH = "scratch"
# sealer build/kubefile/command/command.go
LABEL_SUPPORTED_KUBE_VERSION = "app.alpha.sealer.io/supported-kube-version"
LABEL_KUBE_CNI = "cluster.alpha.sealer.io/kube-cni"
LABEL_KUBE_CSI = "cluster.alpha.sealer.io/kube-csi"
SCHEME_LOCAL = "local://"
REMOTE_SCHEMES = ("http://", "https://")

# ASCII blanks that separate words and are stripped around arguments (newline is never inside a line).
BLANKS = " \t\r\f\v"
_BLANK_OR_NEWLINE = re.compile(r"[ \t\r\f\v\n]")


@dataclass(frozen=True)
class Location:
    """Where an instruction is written: 1-based ``line`` of its first physical line to ``end_line``."""

    file: str
    line: int
    end_line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _json_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class From:
    """``FROM image``: the base cluster image, or ``scratch`` for an empty rootfs."""

    image: str
    location: Location
    platform: str | None = None           # FROM --platform=OS/ARCH
    keyword: ClassVar[str] = "FROM"

    @property
    def is_scratch(self) -> bool:
        return self.image == SCRATCH

    @property
    def reference(self) -> Reference | None:
        """The normalised base reference; ``None`` for ``scratch``."""
        if self.is_scratch:
            return None
        return parse_reference(self.image)

    @property
    def text(self) -> str:
        return f"FROM --platform={self.platform} {self.image}" if self.platform else f"FROM {self.image}"


@dataclass(frozen=True)
class Copy:
    """``COPY src... [dest]``: build-context paths into the rootfs; ``dest`` defaults to ``"."``.

    Paths are kept exactly as written; containment in the build context is the builder's job.
    """

    sources: tuple[str, ...]
    dest: str
    location: Location
    keyword: ClassVar[str] = "COPY"

    @property
    def text(self) -> str:
        plain = (*self.sources, self.dest)
        words = tuple(_lex_escape(w) for w in plain)
        if words != plain:   # variable/quote characters: escaped for the shell lexer, in JSON form
            return f"COPY {_json_list(words)}"
        if _copy_needs_json(words):
            return f"COPY {_json_list(words)}"
        return "COPY " + " ".join(words)


def _lex_escape(word: str) -> str:
    """``word`` with the characters the shell lexer would interpret escaped by a backslash.

    ``${ARCH}`` stays as written: it is a COPY source not yet resolved to a platform.
    """
    parts = word.split("${ARCH}")
    return "${ARCH}".join(re.sub(r"""([$\\'"])""", r"\\\1", p) for p in parts)


def _copy_needs_json(words: tuple[str, ...]) -> bool:
    """Whether the plain form would not parse back to the same words."""
    if any(not w or _BLANK_OR_NEWLINE.search(w) for w in words):
        return True
    return words[0].startswith(("[", "--")) or words[-1].endswith("\\")


@dataclass(frozen=True)
class _Command:
    """Shared shape of ``RUN`` and ``CMD``: shell form sets ``command``, exec form sets ``argv``."""

    command: str | None
    argv: tuple[str, ...] | None
    location: Location
    keyword: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if (self.command is None) == (self.argv is None):
            raise KubefileError(
                f"{self.keyword} needs exactly one of a shell command or an argv list",
                self.location.file, self.location.line,
            )

    @property
    def is_exec(self) -> bool:
        """True for the JSON-array (exec) form."""
        return self.argv is not None

    @property
    def shell_line(self) -> str:
        """A string bash can run: the shell command as written, or the argv quoted with ``shlex.join``."""
        if self.argv is not None:
            return shlex.join(self.argv)
        assert self.command is not None
        return self.command

    @property
    def text(self) -> str:
        if self.argv is not None:
            return f"{self.keyword} {_json_list(self.argv)}"
        return f"{self.keyword} {self.command}"


@dataclass(frozen=True)
class Run(_Command):
    """``RUN``: executed with bash in the rootfs at build time; its file changes become a layer."""

    keyword: ClassVar[str] = "RUN"


@dataclass(frozen=True)
class Cmd(_Command):
    """``CMD`` (deprecated by sealer v0.9 in favour of ``CMDS``/``LAUNCH``): recorded in the image and run at
    delivery; several CMDs run in order.

    The JSON form is sealer's, not Docker's exec form: ``CMD ["kubectl apply -f a.yaml", "bash b.sh"]`` is a
    list of shell commands, each run on its own (``argv`` holds them).
    """

    keyword: ClassVar[str] = "CMD"

    @property
    def commands(self) -> tuple[str, ...]:
        """The shell commands this CMD runs at delivery, in order."""
        if self.argv is not None:
            return self.argv
        assert self.command is not None
        return (self.command,)


def _pairs_text(pairs: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{_quote_word(k)}={_quote_word(v)}" for k, v in pairs)


def _quote_word(w: str) -> str:
    """A word that the Kubefile lexer and the shell lexer read back as ``w``."""
    if w and not re.search(r"""[\s"'$\\=,]""", w):
        return w
    return '"' + w.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


@dataclass(frozen=True)
class Arg:
    """``ARG name[=default] ...`` (also sealer v0.8's ``ARG k=v,k2=v2``): build-time variables.

    ``pairs`` holds the values after ``--build-arg`` overrides; ``None`` for a declared ARG without value.
    """

    pairs: tuple[tuple[str, str | None], ...]
    location: Location
    keyword: ClassVar[str] = "ARG"

    @property
    def text(self) -> str:
        return "ARG " + " ".join(_quote_word(k) if v is None else f"{_quote_word(k)}={_quote_word(v)}"
                                 for k, v in self.pairs)


@dataclass(frozen=True)
class Env:
    """``ENV k=v ...`` (or ``ENV k v``): recorded in the image (``env``), given to RUN and to delivery."""

    pairs: tuple[tuple[str, str], ...]
    location: Location
    keyword: ClassVar[str] = "ENV"

    @property
    def text(self) -> str:
        return "ENV " + _pairs_text(self.pairs)


@dataclass(frozen=True)
class Label:
    """``LABEL k=v ...``: image config labels."""

    pairs: tuple[tuple[str, str], ...]
    location: Location
    keyword: ClassVar[str] = "LABEL"

    @property
    def text(self) -> str:
        return "LABEL " + _pairs_text(self.pairs)


@dataclass(frozen=True)
class Maintainer:
    """``MAINTAINER name``: the config's ``author``."""

    name: str
    location: Location
    keyword: ClassVar[str] = "MAINTAINER"

    @property
    def text(self) -> str:
        return f"MAINTAINER {self.name}"


@dataclass(frozen=True)
class KubeVersion:
    """``KUBEVERSION constraint``: label ``app.alpha.sealer.io/supported-kube-version``."""

    constraint: str
    location: Location
    keyword: ClassVar[str] = "KUBEVERSION"

    @property
    def text(self) -> str:
        return f"KUBEVERSION {self.constraint}"


@dataclass(frozen=True)
class App:
    """``APP name local://path... | http(s)://url...`` (``kind`` CNI/CSI: the same plus a label)."""

    name: str
    sources: tuple[str, ...]
    location: Location
    kind: str = "APP"
    keyword: ClassVar[str] = "APP"

    @property
    def text(self) -> str:
        return f"{self.kind} {self.name} " + " ".join(self.sources)


@dataclass(frozen=True)
class AppCmds:
    """``APPCMDS name ["cmd", ...]``: shell commands that launch the app instead of its type's default."""

    name: str
    commands: tuple[str, ...]
    location: Location
    keyword: ClassVar[str] = "APPCMDS"

    @property
    def text(self) -> str:
        return f"APPCMDS {self.name} {_json_list(self.commands)}"


@dataclass(frozen=True)
class AppEnv:
    """``APPENV name k=v ...``: env of one app (renders its files, given to its commands)."""

    name: str
    pairs: tuple[tuple[str, str], ...]
    location: Location
    keyword: ClassVar[str] = "APPENV"

    @property
    def text(self) -> str:
        return f"APPENV {self.name} " + _pairs_text(self.pairs)


@dataclass(frozen=True)
class Launch:
    """``LAUNCH ["app", ...]``: the apps delivery launches, in order (at most one, last)."""

    apps: tuple[str, ...]
    location: Location
    keyword: ClassVar[str] = "LAUNCH"

    @property
    def text(self) -> str:
        return f"LAUNCH {_json_list(self.apps)}"


@dataclass(frozen=True)
class Cmds:
    """``CMDS ["cmd", ...]``: shell commands delivery runs instead of launching apps (at most one, last)."""

    commands: tuple[str, ...]
    location: Location
    keyword: ClassVar[str] = "CMDS"

    @property
    def text(self) -> str:
        return f"CMDS {_json_list(self.commands)}"


Instruction = From | Copy | Run | Cmd | Arg | Env | Label | Maintainer | KubeVersion | App | AppCmds | AppEnv | Launch | Cmds


@dataclass(frozen=True)
class Kubefile:
    """A parsed Kubefile: ``FROM`` first, then the build steps, in file order."""

    instructions: tuple[Instruction, ...]
    filename: str = "Kubefile"

    @property
    def base(self) -> From:
        first = self.instructions[0] if self.instructions else None
        if not isinstance(first, From):
            raise KubefileError("the first instruction must be FROM", self.filename,
                                first.location.line if first is not None else None)
        return first

    @property
    def steps(self) -> tuple[Instruction, ...]:
        """Every instruction after ``FROM``."""
        return self.instructions[1:]

    @property
    def cmds(self) -> tuple[Cmd, ...]:
        """The ``CMD`` instructions in file order (all of them run at delivery)."""
        return tuple(i for i in self.instructions if isinstance(i, Cmd))

    @property
    def apps(self) -> tuple[App, ...]:
        """``APP``/``CNI``/``CSI`` in file order."""
        return tuple(i for i in self.instructions if isinstance(i, App))

    @property
    def launch(self) -> Launch | None:
        return next((i for i in self.instructions if isinstance(i, Launch)), None)

    @property
    def cmds_instruction(self) -> Cmds | None:
        return next((i for i in self.instructions if isinstance(i, Cmds)), None)

    @property
    def env(self) -> dict[str, str]:
        """Every ``ENV`` of this Kubefile merged in order (sealer's global env)."""
        return {k: v for i in self.instructions if isinstance(i, Env) for k, v in i.pairs}

    @property
    def labels(self) -> dict[str, str]:
        """Every ``LABEL`` merged in order, plus the labels KUBEVERSION/CNI/CSI stand for (as sealer adds them)."""
        out: dict[str, str] = {}
        for i in self.instructions:
            if isinstance(i, Label):
                out.update(i.pairs)
            elif isinstance(i, KubeVersion):
                out[LABEL_SUPPORTED_KUBE_VERSION] = i.constraint
            elif isinstance(i, App) and i.kind in ("CNI", "CSI"):
                prefix = LABEL_KUBE_CNI if i.kind == "CNI" else LABEL_KUBE_CSI
                out[f"{prefix}-{i.name}"] = "true"
        return out

    @property
    def app_env(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for i in self.instructions:
            if isinstance(i, AppEnv):
                out.setdefault(i.name, {}).update(i.pairs)
        return out

    @property
    def app_cmds(self) -> dict[str, tuple[str, ...]]:
        return {i.name: i.commands for i in self.instructions if isinstance(i, AppCmds)}

    @property
    def text(self) -> str:
        """Canonical rendering: one instruction per line, no comments, trailing newline."""
        return "".join(i.text + "\n" for i in self.instructions)
