"""``sealer build``."""

from __future__ import annotations

from pathlib import Path

import click

from sealer.cli.common import app, json_option, print_json, quiet_option
from sealer.platforms import parse_list


@click.command("build")
@click.option("-f", "--file", "kubefile", type=click.Path(path_type=Path), default=None,
              help="Kubefile to build (default: CONTEXT/Kubefile).")
@click.option("-t", "--tag", "tags", multiple=True, required=True, help="Name of the image, NAME:TAG (repeatable).")
@click.option("-b", "--build-type", "--mode", "backend", type=click.Choice(["cloud", "container", "lite"]),
              default="cloud", show_default=True,
              help="cloud: Aliyun ECS nodes; container: docker containers as nodes; lite: no cluster, images found "
                   "in manifests/, charts/ and manifests/imageList.")
@click.option("--no-cache", is_flag=True, help="Do not reuse layers from earlier builds.")
@click.option("--platform", "platforms", default=None, help="Platforms to cache images for, e.g. linux/amd64,linux/arm64 "
              "(default: this host's).")
@click.option("--deep", is_flag=True, help="Also cache image-like strings found in args, env, ConfigMaps and "
              "custom resources (extended discovery).")
@click.option("--ignore-image", "ignore_images", multiple=True, help="Do not cache this image (repeatable).")
@click.option("--max-parallel", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent image/blob downloads.")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registry host reachable over plain HTTP.")
@click.option("--ca-cert", type=click.Path(path_type=Path, exists=True), default=None, help="Extra CA for registries.")
@click.option("--authfile", type=click.Path(path_type=Path), default=None, help="Docker-style auth file.")
@json_option
@quiet_option
@click.argument("context", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.pass_context
def build_cmd(ctx: click.Context, kubefile: Path | None, tags: tuple[str, ...], backend: str, no_cache: bool,
              platforms: str | None, deep: bool, ignore_images: tuple[str, ...], max_parallel: int,
              insecure: tuple[str, ...], ca_cert: Path | None, authfile: Path | None, as_json: bool, quiet: bool,
              context: Path) -> None:
    """Build a cluster image from a Kubefile.

    \b
    Kubefile instructions: FROM (first; an image or scratch), COPY src... dest,
    RUN cmd (host shell at build time, rootfs/bin on PATH; file changes become a layer),
    CMD cmd (run at delivery; several allowed, kept in order).

    \b
    Examples:
      sealer build -b lite -t my-cluster:v1 .
      sealer build -f Kubefile.prod -t registry.local/ops/cluster:v2 -b lite --platform linux/amd64,linux/arm64 ./ctx
    """
    from sealer.build.executor import build
    from sealer.build.options import BuildOptions
    from sealer.store import Store

    for t in tags:
        if "@" in t:
            raise click.BadParameter(f"{t!r}: a build's name cannot carry a digest (the digest is known only "
                                     "after the build; `sealer images` shows it)", param_hint="-t")
    reg_opts = None
    if insecure or ca_cert or authfile:
        from sealer.registry import RegistryOptions

        reg_opts = RegistryOptions(insecure=frozenset(insecure), ca_cert=ca_cert, auth_file=authfile)
    opts = BuildOptions(
        context=context, tags=list(tags), kubefile=kubefile, backend=backend, no_cache=no_cache,
        platforms=parse_list(platforms) if platforms is not None else [], deep=deep,
        ignore_images=list(ignore_images), max_parallel=max_parallel, quiet=quiet or as_json,
        registry_options=reg_opts,
    )
    result = build(opts, Store(app(ctx).root))
    if as_json:
        print_json({"digest": str(result.digest), "tags": result.tags, "cachedSteps": result.cached_steps,
                    "totalSteps": result.total_steps, "images": result.images,
                    "layers": [{"digest": str(x.descriptor.digest), "size": x.descriptor.size,
                                "createdBy": x.created_by} for x in result.layers],
                    "seconds": round(result.seconds, 3)})
    else:
        click.echo(f"Successfully built {', '.join(result.tags)} {result.digest} "
                   f"({result.cached_steps}/{result.total_steps} steps cached, {result.seconds:.1f}s)")


commands: list[click.Command] = [build_cmd]
