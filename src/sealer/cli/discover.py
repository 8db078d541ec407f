"""``sealer find-images DIR``: the images a lite build of DIR would cache, and where each comes from."""

from __future__ import annotations

from pathlib import Path

import click

from sealer.cli.common import json_option, print_json
from sealer.cli.text import echo, echo_err
from sealer.discover import FoundImage, discover


@click.command("find-images")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--deep", is_flag=True,
              help="Also report image-like strings in args, env, ConfigMaps and custom resources (marked extended).")
@click.option("--kube-version", metavar="V", default=None,
              help="Kubernetes version for .Capabilities when rendering charts (e.g. v1.33.0).")
@click.option("--ignore-image", "ignore", metavar="REF", multiple=True,
              help="Leave out this image (no tag: every tag of the repository). Repeatable.")
@click.option("--helm-tests", is_flag=True, help="Include images of helm.sh/hook: test pods.")
@click.option("-j", "--parallel", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Charts rendered at once.")
@click.option("--chart-timeout", default=120.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds one chart may take to render.")
@click.option("--strict", is_flag=True,
              help="A library chart or a chart rendering no workload is an error (a warning otherwise).")
@click.option("--resolve", is_flag=True,
              help="Check every --deep candidate with a manifest HEAD on its registry, as a build does; drop (with "
                   "a warning) those that do not resolve.")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registry host reachable over plain HTTP "
              "(for --resolve).")
@click.option("--authfile", type=click.Path(path_type=Path), default=None,
              help="Docker-style auth file (for --resolve).")
@json_option
def find_images(directory: Path, deep: bool, kube_version: str | None, ignore: tuple[str, ...], helm_tests: bool,
                parallel: int, chart_timeout: float, strict: bool, resolve: bool, insecure: tuple[str, ...],
                authfile: Path | None, as_json: bool) -> None:
    """Find the container images DIRECTORY needs (a build context or rootfs).

    \b
    Reads manifests/imageList, every YAML file under manifests/ and every
    Helm chart under charts/ (rendered with its default values, or with
    charts/<name>.values.yaml). manifests/imageList.ignore removes images.

    \b
    Examples:
      sealer find-images ./build-context
      sealer find-images --deep --json ./rootfs | jq -r '.[].image'
      sealer find-images --strict ./ctx   # fail on library charts and charts rendering nothing
      sealer find-images --deep --resolve ./ctx   # keep only deep candidates that exist
    """
    result = discover(directory, deep=deep, kube_version=kube_version, ignore=ignore, parallel=parallel,
                      include_helm_tests=helm_tests, chart_timeout=chart_timeout, strict=strict)
    unresolved: list[str] = []
    if resolve:
        from sealer.discover.resolve import confirm_extended
        from sealer.registry import RegistryClient, RegistryOptions

        with RegistryClient(RegistryOptions(insecure=frozenset(insecure), auth_file=authfile, retries=2)) as client:
            unresolved = confirm_extended(result, client)
    if as_json:
        print_json([f.to_json() for f in result.images])
    else:
        _plain(result.images)
    for f in result.ignored:
        echo_err(f"ignored {f.reference} (ignore list)")
    if result.helm_tests:
        echo_err(f"{len(result.helm_tests)} image(s) used only by helm test pods not listed "
                 "(--helm-tests to include): " + ", ".join(str(f.reference) for f in result.helm_tests))
    for w in [*result.warnings, *unresolved]:
        echo_err(f"warning: {w}")


def _plain(images: list[FoundImage]) -> None:
    """One image per line (``(extended)`` when only deep mode found it), its sources indented below."""
    for f in images:
        echo(str(f.reference) + (" (extended)" if f.extended else ""))
        for src in f.sources:
            echo(f"    {src}")
    if not images:
        echo_err("no images found")


commands: list[click.Command] = [find_images]
