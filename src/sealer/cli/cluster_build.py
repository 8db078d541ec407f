"""The edge of cluster builds: flags and environment → provider, target and settings; then the build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sealer.cli.infra import aliyun_options
from sealer.cli.text import echo_err

F = TypeVar("F", bound=Callable[..., Any])


def cluster_build_options(f: F) -> F:
    for opt in reversed([
        click.option("--clusterfile", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
                     help="Build on existing hosts (a Clusterfile's masters and nodes) instead of new ones."),
        click.option("--master-count", type=click.IntRange(1, 9), default=1, show_default=True,
                     help="Masters of the build cluster (container / cloud)."),
        click.option("--node-count", type=click.IntRange(0, 50), default=1, show_default=True,
                     help="Worker nodes of the build cluster (container / cloud)."),
        click.option("--keep-infra", is_flag=True,
                     help="Keep the build cluster afterwards (prints how to delete it)."),
        click.option("--upstream", "upstreams", multiple=True, metavar="DOMAIN=URL",
                     help="Proxy DOMAIN from URL on the build cluster (repeatable; registries.conf mirrors "
                          "and the image's etc/registry_config.yaml are used too)."),
        click.option("--default-upstreams/--no-default-upstreams", default=True, show_default=True,
                     help="Also proxy docker.io, quay.io, registry.k8s.io, k8s.gcr.io, gcr.io, ghcr.io from the "
                          "internet (off when the build cluster has no internet access)."),
        click.option("--settle-timeout", type=float, default=600, show_default=True,
                     help="Seconds to wait for every pod to be ready before collecting images."),
        click.option("--docker-host", envvar="DOCKER_HOST", default="unix:///var/run/docker.sock",
                     show_default=True, help="Docker engine for container builds (env DOCKER_HOST)."),
        click.option("--node-addresses", default="127.0.0.21-127.0.0.40", show_default=True,
                     help="Loopback addresses the node containers' sshd listen on (container builds)."),
        click.option("--zone", default=None, help="Aliyun zone (default REGION-b)."),
        click.option("--instance-type", default="ecs.c6.xlarge", show_default=True, help="ECS instance type."),
        click.option("--image-id", default="centos_7_9_x64_20G_alibase_20230718.vhd", show_default=True,
                     help="ECS system image."),
        aliyun_options,
    ]):
        f = opt(f)
    return f


def run_cluster_build(opts: Any, store: Any, flags: dict[str, Any], progress: Any = None) -> Any:
    from sealer.build.cluster import ClusterTarget, build_on_cluster, new_build_id, upstreams_from_mirrors
    from sealer.cli.cloud import require_aliyun_credentials
    from sealer.cli.cloud import state_dir as resolve_state
    from sealer.infra.providers import NodeSpec
    from sealer.infra.providers.ledger import stale_ledgers
    from sealer.registry.mirrors import RegistriesConf
    from sealer.registry.options import RegistryOptions, is_loopback

    def say(msg: str) -> None:
        if not opts.quiet:
            echo_err(msg)

    if opts.backend == "lite":
        raise click.UsageError("--clusterfile is for container and cloud builds; a lite build needs no cluster")
    state = resolve_state(flags.get("state_dir"))
    for rec in stale_ledgers(state / "infra"):
        echo_err(f"WARNING: build {rec.build_id} ({rec.provider}) left {len(rec.resources)} resources behind; "
                 f"`sealer infra delete {rec.build_id}` removes them")
    reg_opts = opts.registry() or RegistryOptions()
    conf = RegistriesConf.load(reg_opts.registries_conf_path())
    upstreams = upstreams_from_mirrors(conf.registries, is_loopback)
    for item in flags["upstreams"]:
        domain, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{item!r}: expected DOMAIN=http(s)://HOST[:PORT]", param_hint="--upstream")
        upstreams[domain] = url
    target = ClusterTarget(spec=NodeSpec(flags["master_count"], flags["node_count"]), keep=flags["keep_infra"],
                           upstreams=upstreams, default_upstreams=flags["default_upstreams"], state_root=state,
                           settle_timeout=flags["settle_timeout"])
    build_id = new_build_id()
    if flags.get("clusterfile") is not None:
        from sealer.cluster import load_clusterfile

        target.existing = load_clusterfile(flags["clusterfile"])
    elif opts.backend == "cloud":
        from sealer.infra.providers.aliyun import AliyunProvider, AliyunSettings

        settings = AliyunSettings(region=flags["region"], zone=flags["zone"], instance_type=flags["instance_type"],
                                  image_id=flags["image_id"], ecs_endpoint=flags["ecs_endpoint"],
                                  vpc_endpoint=flags["vpc_endpoint"], protocol=flags["endpoint_protocol"])
        target.provider = AliyunProvider(require_aliyun_credentials(), settings, build_id=build_id, state_dir=state,
                                         on_event=lambda m: say("  " + m))
    else:
        from sealer.infra import parse_ips
        from sealer.infra.providers.container import ContainerProvider, ContainerSettings
        from sealer.infra.providers.nodeimage import NodeImageRecipe, apt_source_files, debian_mirror

        found = debian_mirror(apt_source_files())
        if found is None:
            raise click.UsageError("container builds make their node image from apt's Debian mirror, and none is "
                                   "configured in /etc/apt/sources.list*")
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sealer" / "node-images"
        settings_c = ContainerSettings(docker_host=flags["docker_host"], recipe=NodeImageRecipe(*found),
                                       cache_dir=cache, addresses=tuple(parse_ips(flags["node_addresses"])))
        target.provider = ContainerProvider(settings_c, build_id=build_id, state_dir=state,
                                            on_event=lambda m: say("  " + m))
    # Ctrl-C and SIGTERM unwind (sealer.cli.signals): build_on_cluster's teardown runs in its finally
    result = build_on_cluster(opts, store, target, say, progress)
    if opts.backend == "cloud":
        _push_when_named(store, opts, result, say)
    return result


def _push_when_named(store: Any, opts: Any, result: Any, say: Callable[[str], None]) -> None:
    """The spec's cloud flow ends by pushing the image when its name says which registry (``reg.io/ns/x:v``)."""
    from sealer.registry import push

    for tag in opts.tags:
        first = tag.split("/", 1)[0]
        if "/" in tag and ("." in first or ":" in first or first == "localhost"):
            say(f"pushing {tag} ...")
            push(store, tag, None, opts.registry())
