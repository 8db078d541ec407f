"""Entry point: ``sealer [--root DIR] [--debug] COMMAND``."""

from __future__ import annotations

import importlib
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
from sealer.cli.text import echo_err, error
from sealer.errors import SealerError, StoreError
from sealer.oserrors import describe

# One module per command group; each exposes ``commands: list[click.Command]``.
COMMAND_MODULES = [
    "sealer.cli.build",
    "sealer.cli.images",
    "sealer.cli.registry",
    "sealer.cli.discover",
    "sealer.cli.cluster",
    "sealer.cli.maintenance",
    "sealer.cli.store_cmds",
    "sealer.cli.deliver",
    "sealer.cli.infra",
]


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


@click.group(cls=SealerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--root", type=click.Path(path_type=Path), default=None, envvar="SEALER_ROOT",
              help="Local image store (env SEALER_ROOT; default /var/lib/sealer as root, else ~/.local/share/sealer).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(__version__, prog_name="sealer")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, debug: bool) -> None:
    """sealer: build, share and run cluster images.

    A cluster image is one OCI image holding a Kubernetes rootfs, the applications
    (manifests, Helm charts) and every container image they need, for offline delivery.

    \b
    Quick start:
      sealer build -b lite -t my-cluster:v1 .      # build ./Kubefile
      sealer images                               # list local cluster images
      sealer inspect my-cluster:v1                # layers, CMDs, cached images
      sealer push my-cluster:v1                   # share through a registry
    """
    settings = Settings.from_environment(root, debug)
    if settings.root.exists() and not settings.root.is_dir():
        raise StoreError(f"--root {settings.root}: not a directory (the local image store is a directory)")
    ctx.obj = AppContext(settings)
    _configure_logging(debug)


for _mod in COMMAND_MODULES:
    for _cmd in importlib.import_module(_mod).commands:
        cli.add_command(_cmd)


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


def main() -> None:
    signals.install()
    signals.ready()
    try:
        cli(prog_name="sealer")
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
