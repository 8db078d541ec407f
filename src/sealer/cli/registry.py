"""``sealer login``, ``logout``, ``push``, ``pull``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from sealer.cli.common import app, err, json_option, print_json, quiet_option
from sealer.cli.text import echo_err
from sealer.errors import AuthError
from sealer.platforms import parse_option
from sealer.registry import RegistryOptions, login, logout, pull, push
from sealer.registry.credentials import auth_file_path
from sealer.registry.options import NoProgress, ProgressLike
from sealer.store.layout import Store

F = TypeVar("F", bound=Callable[..., Any])


def registry_options(f: F) -> F:
    f = click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST[:PORT]",
                     help="Allow plain HTTP / unverified TLS for this registry (repeatable).")(f)
    f = click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Extra CA certificate to trust (also read: /etc/docker/certs.d/HOST/ca.crt).")(f)
    f = click.option("--authfile", type=click.Path(dir_okay=False, path_type=Path), envvar="REGISTRY_AUTH_FILE",
                     help="Credentials file (docker config.json format; default $DOCKER_CONFIG/config.json "
                          "or ~/.docker/config.json).")(f)
    f = click.option("--registries-conf", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Mirrors file in containers registries.conf v2 format (default: $SEALER_REGISTRIES_CONF "
                          "when that file exists, else /etc/containers/registries.conf).")(f)
    return f


def make_options(insecure: tuple[str, ...], ca_cert: Path | None, authfile: Path | None,
                 registries_conf: Path | None, max_parallel: int = 8) -> RegistryOptions:
    """The command's flags over the settings (environment) of this invocation."""
    return app(click.get_current_context()).settings.registry_options(
        insecure=insecure, ca_cert=ca_cert, authfile=authfile, registries_conf=registries_conf,
        max_parallel=max_parallel)


class RichProgress:
    """One bar per blob on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._p = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, key: str, description: str, total: int | None) -> None:
        if key not in self._tasks:
            self._tasks[key] = self._p.add_task(description, total=total)

    def update(self, key: str, completed: int) -> None:
        if key in self._tasks:
            self._p.update(self._tasks[key], completed=completed)

    def done(self, key: str) -> None:
        if key in self._tasks:
            task = self._p.tasks[self._tasks[key]]
            self._p.update(self._tasks[key], completed=task.total or task.completed)


@contextmanager
def progress_for(quiet: bool) -> Iterator[ProgressLike]:
    if quiet or not err.is_terminal:
        yield NoProgress()
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err, transient=True) as p:
        yield RichProgress(p)


@click.command("login")
@click.argument("host")
@click.option("-u", "--username", required=True, help="User name.")
@click.option("-p", "--password", help="Password (prefer --password-stdin: argv is visible to other users).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@registry_options
def login_cmd(host: str, username: str, password: str | None, password_stdin: bool, insecure: tuple[str, ...],
              ca_cert: Path | None, authfile: Path | None, registries_conf: Path | None) -> None:
    """Log in to a registry: check the credentials, then store them (docker config.json / credential helper).

    \b
      sealer login registry.example.com -u alice --password-stdin < pw.txt
    """
    if password_stdin:
        if password:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, err=True)
    if not password:
        raise AuthError(f"log in to {host}: empty password")
    path = login(host, username, password, make_options(insecure, ca_cert, authfile, registries_conf))
    echo_err(f"Login succeeded ({host}; credentials in {path})")


@click.command("logout")
@click.argument("host")
@registry_options
def logout_cmd(host: str, insecure: tuple[str, ...], ca_cert: Path | None, authfile: Path | None,
               registries_conf: Path | None) -> None:
    """Remove the stored credentials of a registry.

    \b
    Example:
      sealer logout registry.example.com:5000
    """
    found = logout(host, make_options(insecure, ca_cert, authfile, registries_conf))
    where = auth_file_path(app(click.get_current_context()).settings.auth_file_for(authfile))
    echo_err(f"Removed login credentials for {host} from {where}" if found else f"Not logged in to {host}")


@click.command("push")
@click.argument("ref")
@click.argument("dest", required=False)
@registry_options
@click.option("--max-parallel", default=8, show_default=True, help="Blobs uploaded at once.")
@quiet_option
@json_option
@click.pass_context
def push_cmd(ctx: click.Context, ref: str, dest: str | None, insecure: tuple[str, ...], ca_cert: Path | None,
             authfile: Path | None, registries_conf: Path | None, max_parallel: int, quiet: bool,
             as_json: bool) -> None:
    """Push a cluster image from the local store to a registry (DEST defaults to its own name).

    Blobs the registry already has are skipped; unchanged cached-image layers are never re-uploaded.

    \b
    Examples:
      sealer push registry.example.com/ops/my-cluster:v1
      sealer push my-cluster:v1 registry.example.com/ops/my-cluster:v1
    """
    store = Store(app(ctx).root)
    with progress_for(quiet or as_json) as prog:
        digest = push(store, ref, dest, make_options(insecure, ca_cert, authfile, registries_conf, max_parallel),
                      prog)
    target = dest or store.resolve(ref).name
    if as_json:
        print_json({"name": target, "digest": str(digest)})
    else:
        click.echo(f"{target}@{digest}" if not quiet else str(digest))


@click.command("pull")
@click.argument("ref")
@click.option("--platform", help="os/arch[/variant] to pull from a multi-arch image (default: this host).")
@click.option("--all-platforms", is_flag=True, help="Keep the whole index with every platform.")
@registry_options
@click.option("--max-parallel", default=8, show_default=True, help="Blobs downloaded at once.")
@quiet_option
@json_option
@click.pass_context
def pull_cmd(ctx: click.Context, ref: str, platform: str | None, all_platforms: bool, insecure: tuple[str, ...],
             ca_cert: Path | None, authfile: Path | None, registries_conf: Path | None, max_parallel: int,
             quiet: bool, as_json: bool) -> None:
    """Pull a cluster image from a registry into the local store.

    \b
    Examples:
      sealer pull registry.example.com/ops/my-cluster:v1
      sealer pull --platform linux/arm64 registry.example.com/ops/my-cluster:v1
    """
    if platform and all_platforms:
        raise click.UsageError("--platform and --all-platforms are mutually exclusive")
    store = Store(app(ctx).root)
    plat = parse_option(platform) if platform is not None else None
    with progress_for(quiet or as_json) as prog:
        stored = pull(store, ref, make_options(insecure, ca_cert, authfile, registries_conf, max_parallel),
                      platform=plat, all_platforms=all_platforms, progress=prog)
    if as_json:
        d = stored.descriptor
        print_json({"name": stored.name, "digest": str(d.digest), "mediaType": d.media_type,
                    "platform": str(d.platform) if d.platform else None})
    else:
        click.echo(f"{stored.name}@{stored.descriptor.digest}" if not quiet else str(stored.descriptor.digest))


commands: list[click.Command] = [login_cmd, logout_cmd, push_cmd, pull_cmd]
