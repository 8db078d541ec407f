"""The click group behind ``sealer``: global options, the lazy command table of :mod:`sealer.cli.main`, error
rendering. Imported on the first command that runs (``sealer --help`` and ``--version`` never load click)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from sealer import __version__
from sealer.cli import signals
from sealer.cli.common import AppContext
from sealer.cli.settings import Settings
from sealer.cli.table import (
    COMMANDS,
    DEBUG_HELP,
    HELP,
    HELP_OPTION_NAMES,
    MAX_CONTENT_WIDTH,
    PROG,
    ROOT_HELP,
    load_command,
)
from sealer.cli.text import echo_err, error, install_task_progress
from sealer.errors import SealerError, StoreError
from sealer.oserrors import describe

EXIT_BROKEN_PIPE = 141  # like a shell reports a process killed by SIGPIPE


def _command(ctx: click.Context) -> str:
    return ctx.invoked_subcommand or ctx.info_name or "sealer"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain about the broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class SealerGroup(click.Group):
    """A lazy group: commands come from :data:`COMMANDS`, each module imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = self.commands.get(cmd_name)
        if cmd is None:
            cmd = load_command(cmd_name)
            if cmd is not None:
                self.commands[cmd_name] = cmd
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with each short help taken from the table: listing imports no command module."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx) if name in COMMANDS]
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, click.Command(name, help=text).get_short_help_str(limit)) for name, text in rows])

    def _fail(self, ctx: click.Context, message: str) -> NoReturn:
        if isinstance(ctx.obj, AppContext) and ctx.obj.debug:
            raise
        error(message)
        sys.exit(1)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SealerError as e:
            debug = isinstance(ctx.obj, AppContext) and ctx.obj.debug
            if debug:
                raise
            error(str(e) + (f" ({e.hint})" if e.hint else ""))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            echo_err("interrupted; nothing partial was committed")
            sys.exit(signals.EXIT_SIGINT)
        except signals.Terminated:
            echo_err("terminated; nothing partial was committed")
            sys.exit(signals.EXIT_SIGTERM)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError as e:
            if e.filename is None:  # our stdout's reader went away (`sealer save -o - | head`): exit quietly
                _quiet_stdout()
                sys.exit(EXIT_BROKEN_PIPE)
            self._fail(ctx, describe(e, _command(ctx)))
        except OSError as e:  # ENOENT, EISDIR, ENOSPC, EROFS...: the machine or a mistake, not a bug
            self._fail(ctx, describe(e, _command(ctx)))
        except RecursionError:
            self._fail(ctx, f"{_command(ctx)}: input nested too deeply to process (refused)")
        except Exception as e:  # a bug: say so plainly, keep the traceback for --debug
            if isinstance(ctx.obj, AppContext) and ctx.obj.debug:
                raise
            error(f"{type(e).__name__}: {e}", label="Internal error:")
            echo_err("This is a bug in sealer; run the command again with --debug for the traceback and report it.")
            sys.exit(70)


@click.group(cls=SealerGroup, help=HELP, context_settings={"help_option_names": list(HELP_OPTION_NAMES),
                                                        "max_content_width": MAX_CONTENT_WIDTH})
@click.option("--root", type=click.Path(path_type=Path), default=None, envvar="SEALER_ROOT", help=ROOT_HELP)
@click.option("--debug", is_flag=True, help=DEBUG_HELP)
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, root: Path | None, debug: bool) -> None:
    # the help text is sealer.cli.main.HELP: `sealer --help` prints it without importing click
    settings = Settings.from_environment(root, debug)
    if settings.root.exists() and not settings.root.is_dir():
        raise StoreError(f"--root {settings.root}: not a directory (the local image store is a directory)")
    settings.configure_library()
    ctx.obj = AppContext(settings)
    _configure_logging(debug)
    install_task_progress()


def _configure_logging(debug: bool) -> None:
    """--debug: the library's DEBUG logs (``sealer`` logger) on this invocation's stderr; otherwise none."""
    logger = logging.getLogger("sealer")
    for h in [h for h in logger.handlers if getattr(h, "_sealer_cli", False)]:
        logger.removeHandler(h)
    logger.setLevel(logging.DEBUG if debug else logging.NOTSET)
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("DEBUG %(name)s: %(message)s"))
        handler._sealer_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
