"""Entry point: ``sealer [--root DIR] [--debug] COMMAND``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from sealer import __version__
from sealer.cli import signals
from sealer.cli.common import AppContext, default_root
from sealer.cli.text import echo_err, error
from sealer.errors import SealerError

# One module per command group; each exposes ``commands: list[click.Command]``.
COMMAND_MODULES = [
    "sealer.cli.build",
    "sealer.cli.images",
    "sealer.cli.registry",
    "sealer.cli.discover",
    "sealer.cli.cluster",
    "sealer.cli.maintenance",
    "sealer.cli.store_cmds",
]


class SealerGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SealerError as e:
            debug = isinstance(ctx.obj, AppContext) and ctx.obj.debug
            if debug:
                raise
            error(str(e))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            echo_err("interrupted; nothing partial was committed")
            sys.exit(signals.EXIT_SIGINT)
        except signals.Terminated:
            echo_err("terminated; nothing partial was committed")
            sys.exit(signals.EXIT_SIGTERM)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
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
    ctx.obj = AppContext(root=root or default_root(), debug=debug)


for _mod in COMMAND_MODULES:
    for _cmd in importlib.import_module(_mod).commands:
        cli.add_command(_cmd)


def main() -> None:
    signals.install()
    try:
        cli(prog_name="sealer")
    except KeyboardInterrupt:  # before or after a command ran (startup, shutdown)
        sys.exit(signals.EXIT_SIGINT)
    except signals.Terminated:
        sys.exit(signals.EXIT_SIGTERM)


if __name__ == "__main__":
    main()
