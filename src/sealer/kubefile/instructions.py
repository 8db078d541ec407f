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
        return f"FROM {self.image}"


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
        words = (*self.sources, self.dest)
        if _copy_needs_json(words):
            return f"COPY {_json_list(words)}"
        return "COPY " + " ".join(words)


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
    """``CMD``: recorded in the image and executed at delivery; several CMDs run in order."""

    keyword: ClassVar[str] = "CMD"


Instruction = From | Copy | Run | Cmd


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
    def text(self) -> str:
        """Canonical rendering: one instruction per line, no comments, trailing newline."""
        return "".join(i.text + "\n" for i in self.instructions)
