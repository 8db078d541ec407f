"""Entry point: ``sealer [--root DIR] [--debug] COMMAND``.

Kept light: :func:`main` and the command table (:mod:`sealer.cli.table`). ``sealer --help`` and ``sealer
--version`` are answered from here (:mod:`sealer.cli.helptext`) without importing click; every other invocation
goes to the click group in :mod:`sealer.cli.group`, which imports a command's module only when it runs.
``cli`` (the group) is still importable from here: ``from sealer.cli.main import cli``.
"""

from __future__ import annotations

import contextlib
import os
import sys

from sealer import __version__
from sealer.cli import signals
from sealer.cli.table import (
    COMMAND_MODULES,
    COMMANDS,
    HELP_OPTION_NAMES,
    PROG,
    load_command,
    top_level_help,
)

__all__ = ["COMMANDS", "COMMAND_MODULES", "load_command", "main", "top_level_help"]


def _answer_without_click(args: list[str]) -> bool:
    """``sealer --help``/``-h``/``--version`` alone, or ``sealer version [--short|--json]``: print what click would
    and return True; anything else (other arguments, shell completion) is click's."""
    if not args or f"_{PROG.upper()}_COMPLETE" in os.environ:
        return False
    if args[0] == "version":
        from sealer.cli.version import answer

        answered = answer(args[1:])
        if answered is None:
            return False
        text = answered
    elif len(args) != 1:
        return False
    elif args[0] in HELP_OPTION_NAMES:
        text = top_level_help()
    elif args[0] == "--version":
        from sealer.cli.helptext import VERSION_MESSAGE

        text = VERSION_MESSAGE.format(prog=PROG, version=__version__)
    else:
        return False
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # as click's main does: quiet, exit status 1
        with contextlib.suppress(OSError, ValueError):  # the interpreter's final flush goes nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        sys.exit(1)
    return True


def __getattr__(name: str) -> object:
    """``cli`` and ``SealerGroup`` live in :mod:`sealer.cli.group` (click); imported when first asked for."""
    if name in ("cli", "SealerGroup"):
        from sealer.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    signals.install()
    signals.ready()
    try:
        if _answer_without_click(sys.argv[1:]):
            return
        with signals.loading():
            from sealer.cli.group import cli
        cli(prog_name=PROG)
    except KeyboardInterrupt:  # before or after a command ran (startup, shutdown)
        signals.done()
        sys.exit(signals.EXIT_SIGINT)
    except signals.Terminated:
        signals.done()
        sys.exit(signals.EXIT_SIGTERM)
    finally:
        signals.done()


if __name__ == "__main__":
    main()
