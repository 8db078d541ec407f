"""``sealer build``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sealer.cli.cluster_build import cluster_build_options
from sealer.cli.common import app, json_option, print_json, quiet_option
from sealer.cli.progress import BuildProgress
from sealer.cli.text import install_task_progress
from sealer.platforms import parse_list
from sealer.store import Store


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
@click.option("--strict", is_flag=True, help="Fail when a chart is a library chart or renders no workload "
              "(warnings otherwise).")
@click.option("--ignore-image", "ignore_images", multiple=True, help="Do not cache this image (repeatable).")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE",
              help="Set an ARG of the Kubefile (repeatable; NAME=V1,NAME2=V2 also accepted, as sealer's).")
@click.option("--image-list", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="File with more images to cache, one per line.")
@click.option("--ignored-image-list", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="File with images not to cache, one per line.")
@click.option("--max-parallel", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent image/blob downloads.")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registry host reachable over plain HTTP.")
@click.option("--ca-cert", type=click.Path(path_type=Path, exists=True), default=None, help="Extra CA for registries.")
@click.option("--authfile", type=click.Path(path_type=Path), default=None, help="Docker-style auth file.")
@cluster_build_options
@json_option
@quiet_option
@click.argument("context", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.pass_context
def build_cmd(ctx: click.Context, /, kubefile: Path | None, tags: tuple[str, ...], backend: str, no_cache: bool,
              platforms: str | None, deep: bool, strict: bool, ignore_images: tuple[str, ...], max_parallel: int,
              insecure: tuple[str, ...], ca_cert: Path | None, authfile: Path | None, as_json: bool, quiet: bool,
              context: Path, build_args: tuple[str, ...] = (), image_list: Path | None = None,
              ignored_image_list: Path | None = None, **cluster_flags: Any) -> None:
    """Build a cluster image from a Kubefile.

    \b
    Kubefile instructions: FROM (first; an image or scratch), COPY src... dest,
    RUN cmd (at build time, rootfs/bin on PATH; on master0 of the build cluster for cloud/container;
    file changes become a layer),
    ARG, ENV, LABEL, KUBEVERSION, APP name local://path|https://url, APPCMDS, APPENV,
    CNI, CSI, LAUNCH ["app",...] or CMDS ["cmd",...] (last), CMD (deprecated). See docs/kubefile.md.

    \b
    Build types (-b):
      cloud      (default) pay-as-you-go Aliyun ECS nodes run the base cluster and the build;
                 sees everything (operators, installers, storage); costs money; needs
                 ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET
      container  docker containers as nodes on this machine; cheap; weak on low-level resources
      lite       no cluster: images from manifests/imageList, manifests/ and charts/
    --clusterfile F runs a cloud/container build on hosts you already have.

    \b
    Examples:
      sealer build -b lite -t my-cluster:v1 .
      sealer build -b lite -t app:v1 --build-arg TAG=v1.22.15 --image-list extra.txt .
      sealer build -f Kubefile.prod -t registry.local/ops/cluster:v2 -b lite --platform linux/amd64,linux/arm64 ./ctx
    """
    clusterfile = cluster_flags.get("clusterfile")
    if backend == "cloud" and clusterfile is None:  # fail before any work when the default cannot run
        from sealer.cli.cloud import require_aliyun_credentials

        require_aliyun_credentials()
    from sealer.build.executor import build
    from sealer.build.options import BuildOptions
    for t in tags:
        if "@" in t:
            raise click.BadParameter(f"{t!r}: a build's name cannot carry a digest (the digest is known only "
                                     "after the build; `sealer images` shows it)", param_hint="-t")
    settings = app(ctx).settings
    opts = BuildOptions(
        context=context, tags=list(tags), kubefile=kubefile, backend=backend, no_cache=no_cache,
        platforms=parse_list(platforms) if platforms is not None else [], deep=deep, strict=strict,
        ignore_images=list(ignore_images), max_parallel=max_parallel, quiet=quiet or as_json,
        # made when the build first reaches a registry: a rebuild that pulls and caches nothing never loads httpx
        registry_options=lambda: settings.registry_options(insecure=insecure, ca_cert=ca_cert, authfile=authfile),
        build_args=_build_args(build_args), image_list=image_list,
        ignored_image_list=ignored_image_list, source_date_epoch=settings.source_date_epoch,
    )
    progress = BuildProgress(quiet or as_json)
    if quiet or as_json:
        install_task_progress(False)
    if backend != "lite" or clusterfile is not None:
        from sealer.cli.cluster_build import run_cluster_build

        result = run_cluster_build(opts, Store(app(ctx).root), cluster_flags, progress)
    else:
        result = build(opts, Store(app(ctx).root), progress)
    if as_json:
        print_json({"digest": str(result.digest), "tags": result.tags, "cachedSteps": result.cached_steps,
                    "totalSteps": result.total_steps, "images": result.images,
                    "layers": [{"digest": str(x.descriptor.digest), "size": x.descriptor.size,
                                "createdBy": x.created_by} for x in result.layers],
                    "seconds": round(result.seconds, 3)})
    else:
        click.echo(f"Successfully built {', '.join(result.tags)} {result.digest} "
                   f"({result.cached_steps}/{result.total_steps} steps cached, {result.seconds:.1f}s)")


def _build_args(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        for part in item.split(",") if all("=" in p for p in item.split(",")) else [item]:
            name, eq, value = part.partition("=")
            if not eq or not name.strip():
                raise click.BadParameter(f"{part!r}: want NAME=VALUE", param_hint="--build-arg")
            out[name.strip()] = value
    return out


commands: list[click.Command] = [build_cmd]
