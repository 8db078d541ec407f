"""Delivery commands: ``run``, ``apply``, ``join``, ``delete`` (a cluster image onto hosts over SSH)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sealer.cli.common import app, json_option, out, print_json
from sealer.cli.text import echo, echo_err

F = TypeVar("F", bound=Callable[..., Any])


class CliReporter:
    """One line per host and phase on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def phase_started(self, host: str, phase: str) -> None:
        pass

    def phase_done(self, host: str, phase: str, *, skipped: bool, seconds: float, detail: str = "") -> None:
        if self.quiet:
            return
        state = "already done" if skipped else f"done {seconds:6.2f}s"
        echo_err(f"{host:<16} {phase:<9} {state}{'  ' + detail if detail else ''}")

    def phase_failed(self, host: str, phase: str, error: str) -> None:
        echo_err(f"{host:<16} {phase:<9} FAILED")

    def note(self, text: str) -> None:
        if not self.quiet:
            echo_err(text)


def _data_root_option(f: F) -> F:
    return click.option("--data-root", default=None,
                        help="Data root on hosts (overrides the Clusterfile's spec.dataRoot; default "
                             "/var/lib/sealer/data).")(f)


def _compress_option(f: F) -> F:
    return click.option("--compress/--no-compress", default=False, show_default=True,
                        help="gzip (isal) the rootfs stream except registry/ (whose layers are gzip already); "
                             "off by default: on a LAN the SSH cipher, not the wire, bounds the speed.")(f)


def _cmd_args_option(f: F) -> F:
    return click.option("--cmd-args", "cmd_args", multiple=True, metavar="KEY=VALUE[,KEY=VALUE]",
                        help="Values for $KEY / ${KEY} in the CMDs run on master0 (sealer v0.8's --cmd-args; "
                             "repeatable; a comma separates items, so CSV-quote a value with a comma: "
                             "'\"msg=a,b\"'). Each value reaches the CMD as one word, never read by a shell.")(f)


def _cmds_option(f: F) -> F:
    return click.option("--cmds", multiple=True,
                        help="Run these instead of the image's own CMDs (the Clusterfile's spec.cmd); the base "
                             "image's CMDs still run first (repeatable). Kept with the cluster: join and a "
                             "later apply run the same.")(f)


def _apps_option(f: F) -> F:
    return click.option("--apps", default=None, metavar="A,B",
                        help="Launch these applications of the image (sealer v0.9 APP; the Clusterfile's "
                             "spec.appNames) instead of its own launch. Kept with the cluster.")(f)


def _app_list(apps: str | None) -> list[str] | None:
    return [a for a in apps.split(",") if a] if apps is not None else None


def _state_root(flag: Path | None) -> Path:
    """--state-dir, else the settings' state dir ($SEALER_STATE_DIR, else ~/.sealer)."""
    return app(click.get_current_context()).settings.state_dir_for(flag)


def _state_option(f: F) -> F:
    return click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                        envvar="SEALER_STATE_DIR",
                        help="Where applied Clusterfiles are kept (env SEALER_STATE_DIR; default ~/.sealer).")(f)


def _ips(value: str | None) -> list[str]:
    from sealer.infra import parse_ips

    return parse_ips(value) if value else []


def _finish(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.to_json())
        return
    s = result.summary
    if s is not None:
        from rich.table import Table

        t = Table(title=f"cluster {s.cluster}: {s.image} ({s.seconds:.1f}s)")
        t.add_column("host")
        t.add_column("phases done")
        t.add_column("already done")
        t.add_column("not applicable")
        per: dict[str, dict[str, list[str]]] = {}
        for r in s.results:
            per.setdefault(r.host, {}).setdefault(r.status, []).append(r.phase)
        for host, by in per.items():
            t.add_row(host, " ".join(by.get("done", [])) or "-", " ".join(by.get("skipped", [])) or "-",
                      " ".join(by.get("n/a", [])) or "-")
        out.print(t)
    if result.added:
        echo(f"joined: {', '.join(result.added)}")
    if result.removed:
        echo(f"removed: {', '.join(result.removed)}")


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except KeyboardInterrupt:
        echo_err("interrupted: remote commands were stopped; run the same command again to resume")
        sys.exit(130)


@click.command("run")
@click.argument("image")
@click.option("-m", "--masters", required=True, help="Master IPs: a,b or ranges 192.168.0.2-192.168.0.4.")
@click.option("-n", "--nodes", default=None, help="Node IPs (same forms).")
@click.option("-u", "--user", default="root", show_default=True, help="SSH user.")
@click.option("-p", "--passwd", default=None, envvar="SEALER_SSH_PASSWD", help="SSH password (env SEALER_SSH_PASSWD).")
@click.option("--pk", default=None, help="SSH private key file.")
@click.option("--pk-passwd", default=None, help="Passphrase of the private key.")
@click.option("--port", type=int, default=22, show_default=True, help="SSH port.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Cluster env (repeatable).")
@_cmds_option
@_apps_option
@_cmd_args_option
@click.option("--cluster-name", default="my-cluster", show_default=True, help="Cluster name.")
@click.option("--runtime", type=click.Choice(["containerd", "docker"]), default="containerd", show_default=True,
              help="Container runtime of the hosts (mirror configuration, CRI socket).")
@_data_root_option
@_compress_option
@_state_option
@json_option
@click.pass_context
def run_cmd(ctx: click.Context, image: str, masters: str, nodes: str | None, user: str, passwd: str | None,
            pk: str | None, pk_passwd: str | None, port: int, env: tuple[str, ...], cmds: tuple[str, ...],
            apps: str | None, cmd_args: tuple[str, ...], cluster_name: str, runtime: str, data_root: str | None, compress: bool, state_dir: Path | None,
            as_json: bool) -> None:
    """Deliver cluster IMAGE (from the local store) onto hosts over SSH.

    Per host, in phases (each done once, so a rerun resumes): send the rootfs (registry/ to master0 only),
    render *.tmpl, /etc/hosts, the image's scripts/init.sh, the registry on master0, the runtime's mirror
    config, kubeadm init/join, then the image's CMDs on master0. The Clusterfile is kept in the state dir.

    \b
      sealer run my-cluster:v1 -m 192.168.0.2 -n 192.168.0.3-192.168.0.4 -p secret
      sealer run my-cluster:v1 -m 10.0.0.2 --pk ~/.ssh/id_ed25519 -e PodCIDR=10.244.0.0/16 --json
      sealer run my-apps:v1 -m 10.0.0.2 --pk ~/.ssh/id_ed25519 --apps mysql,redis
      sealer run my-app:v1 -m 10.0.0.2 --pk ~/.ssh/id_ed25519 --cmd-args Release=prod --cmd-args 'Note=a b; c'

    \b
    --cmd-args fills $KEY / ${KEY} in the CMDs; with the last example an image
      CMD helm install $Release chart --set note="${Note}"
    runs as
      helm install prod chart --set 'note=a b; c'
    Each value arrives as one word, never split or run as shell code; the CMD's own quotes and its other
    $NAMEs are the shell's. A Clusterfile sets them as spec.cmd_args: [Release=prod, "Note=a b; c"].
    """
    from sealer.cluster.clusterfile import SSH
    from sealer.cluster.cmdargs import parse_flags
    from sealer.deliver import ops

    cluster = ops.cluster_from_flags(cluster_name, image, _ips(masters), _ips(nodes),
                                     SSH(user=user, passwd=passwd, pk=pk, pk_passwd=pk_passwd, port=port),
                                     ops.parse_env(env), runtime, parse_flags(cmd_args), cmds=cmds,
                                     apps=_app_list(apps))
    result = _guard(lambda: ops.apply(cluster, image, store_root=app(ctx).root, state_root=_state_root(state_dir),
                                      data_root=data_root, reporter=CliReporter(as_json), compress=compress))
    _finish(result, as_json)


@click.command("apply")
@click.option("-f", "--clusterfile", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="The Clusterfile (spec.image is the image to deliver).")
@_cmds_option
@_apps_option
@_cmd_args_option
@_data_root_option
@_compress_option
@_state_option
@json_option
@click.pass_context
def apply_cmd(ctx: click.Context, clusterfile: Path, cmds: tuple[str, ...], apps: str | None,
              cmd_args: tuple[str, ...], data_root: str | None, compress: bool, state_dir: Path | None,
              as_json: bool) -> None:
    """Make the hosts match a Clusterfile: deliver to new hosts, clean hosts it no longer lists.

    Hosts that already hold every phase are only checked (their phase markers are read). The CMDs run again
    when what they would run changed (e.g. spec.cmd_args or --cmd-args, which override it key by key).
    What runs on master0: --cmds/--apps, else spec.cmd/spec.appNames, else what the cluster ran last
    (spec.cmd: [] asks for the image's own CMDs).

    \b
      sealer apply -f Clusterfile
      sealer apply -f Clusterfile --cmds 'kubectl apply -f manifests/'
      sealer apply -f Clusterfile --cmd-args Release=prod --cmd-args 'Note=a b; c'
    """
    from dataclasses import replace

    from sealer.cluster import load_clusterfile
    from sealer.cluster.cmdargs import parse_flags
    from sealer.deliver import ops
    from sealer.deliver.errors import DeliveryError

    overrides = parse_flags(cmd_args)
    cluster = load_clusterfile(clusterfile)
    if overrides:
        cluster = replace(cluster, cmd_args={**cluster.cmd_args, **overrides})
    if not cluster.image:
        raise DeliveryError(f"{clusterfile}: spec.image is not set")
    image = cluster.image
    result = _guard(lambda: ops.apply(cluster, image, store_root=app(ctx).root,
                                      state_root=_state_root(state_dir), data_root=data_root,
                                      cmds=list(cmds) or None, apps=_app_list(apps),
                                      reporter=CliReporter(as_json), compress=compress))
    _finish(result, as_json)


@click.command("join")
@click.option("-m", "--masters", default=None, help="Masters to add.")
@click.option("-n", "--nodes", default=None, help="Nodes to add.")
@click.option("--cluster-name", default=None, help="Cluster (default: the only one in the state dir).")
@_state_option
@json_option
@click.pass_context
def join_cmd(ctx: click.Context, masters: str | None, nodes: str | None, cluster_name: str | None,
             state_dir: Path | None, as_json: bool) -> None:
    """Add hosts to a delivered cluster (same image, same SSH settings).

    \b
      sealer join -n 192.168.0.5
    """
    from sealer.deliver import ops

    if not masters and not nodes:
        raise click.UsageError("give -m/--masters or -n/--nodes")
    result = _guard(lambda: ops.join(_state_root(state_dir), cluster_name, _ips(masters), _ips(nodes),
                                     store_root=app(ctx).root, reporter=CliReporter(as_json)))
    _finish(result, as_json)


@click.command("delete")
@click.option("-m", "--masters", default=None, help="Masters to remove.")
@click.option("-n", "--nodes", default=None, help="Nodes to remove.")
@click.option("-a", "--all", "all_", is_flag=True, help="Delete the whole cluster.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--cluster-name", default=None, help="Cluster (default: the only one in the state dir).")
@_state_option
@json_option
def delete_cmd(masters: str | None, nodes: str | None, all_: bool, force: bool, cluster_name: str | None,
               state_dir: Path | None, as_json: bool) -> None:
    """Remove hosts from a cluster, or the whole cluster (--all).

    On each host: kubeadm reset -f, the registry stopped (master0), the image's scripts/clean.sh, our
    /etc/hosts lines and mirror files, the data root. Running it again is harmless.

    \b
      sealer delete -n 192.168.0.5
      sealer delete --all --force
    """
    from sealer.deliver import ops, state

    root = _state_root(state_dir)
    if all_ and not cluster_name and not state.clusters(root):
        echo_err(f"no delivered cluster in {root}: nothing to delete")
        return
    if all_:
        if masters or nodes:
            raise click.UsageError("--all takes no -m/-n")
        if not force:
            name = state.only_cluster(root, cluster_name)
            click.confirm(f"delete cluster {name} from all its hosts?", abort=True, err=True)
        result = _guard(lambda: ops.delete_all(root, cluster_name, CliReporter(as_json)))
    else:
        if not masters and not nodes:
            raise click.UsageError("give -m/--masters, -n/--nodes or --all")
        result = _guard(lambda: ops.delete_hosts(root, cluster_name, _ips(masters), _ips(nodes),
                                                 CliReporter(as_json)))
    _finish(result, as_json)


commands: list[click.Command] = [run_cmd, apply_cmd, join_cmd, delete_cmd]
