"""Cluster configuration commands: ``kubeadm-config`` and ``registry-proxy-config``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from sealer.cli.common import app, json_option, print_json
from sealer.cli.text import echo, echo_err
from sealer.errors import ClusterConfigError
from sealer.store import Store


@contextlib.contextmanager
def _rootfs(ctx: click.Context, image: str) -> Iterator[Path]:
    """IMAGE as a rootfs directory: the directory itself, or the stored image exported to a temp dir."""
    path = Path(image)
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="sealer-rootfs-") as tmp:
        Store(app(ctx).root).export_rootfs(image, Path(tmp))
        yield Path(tmp)


@click.command("kubeadm-config")
@click.argument("image")
@click.option("-f", "--clusterfile", "clusterfile", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The Clusterfile describing hosts, runtime and overrides.")
@click.option("--host", "host", default=None, metavar="IP",
              help="Show the configuration this host gets (default: master0).")
@json_option
@click.pass_context
def kubeadm_config_cmd(ctx: click.Context, image: str, clusterfile: Path, host: str | None, as_json: bool) -> None:
    """Print the kubeadm configuration a host would get from IMAGE and a Clusterfile.

    IMAGE is a cluster image in the local store or an unpacked rootfs directory.
    master0 gets InitConfiguration, ClusterConfiguration, KubeProxyConfiguration and
    KubeletConfiguration; other masters and nodes get JoinConfiguration and
    KubeletConfiguration. Precedence: Clusterfile documents > the image's etc/
    templates > the packaged defaults; each document says where it came from.

    \b
      sealer kubeadm-config ./rootfs -f Clusterfile
      sealer kubeadm-config my-cluster:v1 -f Clusterfile --host 192.168.0.5 --json
    """
    from sealer.cluster import kubeadm_config, load_clusterfile

    cluster = load_clusterfile(clusterfile)
    from sealer.deliver.imagerepo import apply_choice

    with _rootfs(ctx, image) as rootfs:
        result = kubeadm_config(cluster, host, rootfs=rootfs)
        apply_choice(result, cluster, rootfs)   # the imageRepository delivery uses (docs/delivery.md)
    if as_json:
        print_json(result.to_json())
        return
    echo(result.to_yaml(), end="")
    if result.variables.placeholders:
        echo_err(f"note: {', '.join(result.variables.placeholders)} hold placeholders until kubeadm init has run "
                 "on master0 (set them in spec.env to fix them)")


@click.command("registry-proxy-config")
@click.argument("image")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write <domain>/config.yml (0600) and containerd/<domain>/hosts.toml here.")
@click.option("--storage-root", default="/var/lib/sealer/registry-proxy", show_default=True,
              help="Where each proxy keeps its cache (one subdirectory per domain).")
@click.option("--base-port", type=int, default=5001, show_default=True, help="Port of the first proxy.")
@click.option("--endpoint", default="sea.hub", show_default=True, help="Host the proxies listen on, for containerd.")
@json_option
@click.pass_context
def registry_proxy_config_cmd(ctx: click.Context, image: str, output: Path | None, storage_root: str,
                              base_port: int, endpoint: str, as_json: bool) -> None:
    """Validate IMAGE's etc/registry_config.yaml and generate its proxy configs.

    Without -o, prints the upstreams with credentials redacted.

    \b
    Examples:
      sealer registry-proxy-config my-cluster:v1
      sealer registry-proxy-config ./rootfs -o /etc/sealer/registry-proxy
    """
    from sealer.cluster import load_registry_config, render_containerd_hosts, render_distribution_configs
    from sealer.cluster.registry_proxy import proxy_endpoints

    with _rootfs(ctx, image) as rootfs:
        path = rootfs / "etc" / "registry_config.yaml"
        if not path.is_file():
            raise ClusterConfigError("the image has no etc/registry_config.yaml", image)
        cfg = load_registry_config(path)
        view = cfg.redacted()
        view["file"] = "etc/registry_config.yaml"
        endpoints = proxy_endpoints(cfg, endpoint, base_port)
        for u in view["upstreams"]:
            u["proxy"] = endpoints[u["domain"]]
        if output is not None:
            files = render_distribution_configs(cfg, storage_root, base_port)
            files.update({f"containerd/{k}": v for k, v in render_containerd_hosts(cfg, endpoint, base_port).items()})
            for rel, content in files.items():
                dest = output / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(content)
            view["written"] = sorted(files)
    if as_json:
        print_json(view)
        return
    for u in view["upstreams"]:
        creds = "with credentials" if u["username"] else "anonymous"
        echo(f"{u['domain']:<28} {u['url']:<40} {creds:<17} proxy {u['proxy']}")
    for rel in view.get("written", []):
        echo_err(f"wrote {output}/{rel}")


commands: list[click.Command] = [kubeadm_config_cmd, registry_proxy_config_cmd]
