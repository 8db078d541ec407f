"""Shared CLI plumbing: the global context, JSON output, error rendering."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sealer.cli.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

# stdout carries data (tables, JSON); stderr carries progress and messages. ``out`` and ``err`` are Rich consoles
# made on first use (``from sealer.cli.common import out``): a command that never styles anything never loads Rich.
_consoles: dict[str, Console] = {}


def console(name: str) -> Console:
    """The shared console ``"out"`` (stdout) or ``"err"`` (stderr), created once."""
    made = _consoles.get(name)
    if made is None:
        from rich.console import Console

        stream = sys.stderr if name == "err" else sys.stdout
        made = Console(stderr=name == "err", highlight=False, soft_wrap=True,
                       width=None if stream.isatty() else 200)
        _consoles[name] = made
    return made


def __getattr__(name: str) -> Console:
    if name in ("out", "err"):
        return console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class AppContext:
    settings: Settings

    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def debug(self) -> bool:
        return self.settings.debug


def app(ctx: click.Context) -> AppContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(f)


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="No progress display; only the result.")(f)


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def camel_keys(doc: dict[str, Any]) -> dict[str, Any]:
    """Our own top-level snake_case keys in camelCase: every ``--json`` output uses camelCase keys
    (``imageId``, ``brokenRefs``). Only for documents whose keys we chose; image data (labels, OCI fields such
    as ``created_by``) is never renamed."""
    def camel(k: str) -> str:
        head, *rest = k.split("_")
        return head + "".join(w[:1].upper() + w[1:] for w in rest)
    return {camel(k): v for k, v in doc.items()}


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return f"{n}B"
