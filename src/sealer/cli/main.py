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
from sealer.cli.text import echo_err, error, install_task_progress
from sealer.errors import SealerError, StoreError
from sealer.oserrors import describe

# Every command: its name -> (the module defining it, its one-line help). The module is imported only when the
# command runs or its own --help is asked; `sealer --help` lists the commands from this table alone (a test checks
# the table against the modules). Each module also exposes ``commands: list[click.Command]``.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("sealer.cli.build", "Build a cluster image from a Kubefile."),
    "images": ("sealer.cli.images", "List cluster images in the local store."),
    "inspect": ("sealer.cli.images", "Show a cluster image: layers with the instruction that made each, CMDs, "
                                     "cached images, Kubefile."),
    "tag": ("sealer.cli.images", "Give an image another name."),
    "rmi": ("sealer.cli.images", "Remove image names; blobs no remaining image references are deleted."),
    "save": ("sealer.cli.images", "Save images to one tar (an OCI image layout)."),
    "load": ("sealer.cli.images", "Load images from a tar; every digest is verified before anything becomes "
                                  "visible."),
    "export-rootfs": ("sealer.cli.images", "Unpack an image's rootfs (all layers applied in order) into DEST, a "
                                           "new or empty directory."),
    "login": ("sealer.cli.registry", "Log in to a registry: check the credentials, then store them (docker "
                                     "config.json / credential helper)."),
    "logout": ("sealer.cli.registry", "Remove the stored credentials of a registry."),
    "push": ("sealer.cli.registry", "Push a cluster image from the local store to a registry (DEST defaults to "
                                    "its own name)."),
    "pull": ("sealer.cli.registry", "Pull a cluster image from a registry into the local store."),
    "find-images": ("sealer.cli.discover", "Find the container images DIRECTORY needs (a build context or "
                                           "rootfs)."),
    "kubeadm-config": ("sealer.cli.cluster", "Print the kubeadm configuration a host would get from IMAGE and a "
                                             "Clusterfile."),
    "registry-proxy-config": ("sealer.cli.cluster", "Validate IMAGE's etc/registry_config.yaml and generate its "
                                                    "proxy configs."),
    "verify": ("sealer.cli.maintenance", "Check that every image cached in IMAGE's registry is complete."),
    "fsck": ("sealer.cli.store_cmds", "Verify every blob's digest and every image's completeness in the local "
                                      "store."),
    "gc": ("sealer.cli.store_cmds", "Delete blobs no image references, and leftovers of interrupted builds."),
    "run": ("sealer.cli.deliver", "Deliver cluster IMAGE (from the local store) onto hosts over SSH."),
    "apply": ("sealer.cli.deliver", "Make the hosts match a Clusterfile: deliver to new hosts, clean hosts it no "
                                    "longer lists."),
    "join": ("sealer.cli.deliver", "Add hosts to a delivered cluster (same image, same SSH settings)."),
    "delete": ("sealer.cli.deliver", "Remove hosts from a cluster, or the whole cluster (--all)."),
    "infra": ("sealer.cli.infra", "Cloud resources created by cluster builds (`-b cloud`)."),
}
COMMAND_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))


def load_command(name: str) -> click.Command | None:
    """Import the module of command ``name`` and return the command (None: not a sealer command)."""
    entry = COMMANDS.get(name)
    if entry is None:
        return None
    with signals.loading():
        module = importlib.import_module(entry[0])
    for cmd in module.commands:
        if cmd.name == name:
            assert isinstance(cmd, click.Command)
            return cmd
    raise AssertionError(f"{entry[0]} defines no command {name!r} (COMMANDS in sealer.cli.main is stale)")


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
