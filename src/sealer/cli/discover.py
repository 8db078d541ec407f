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
@json_option
def find_images(directory: Path, deep: bool, kube_version: str | None, ignore: tuple[str, ...], helm_tests: bool,
                parallel: int, chart_timeout: float, as_json: bool) -> None:
    """Find the container images DIRECTORY needs (a build context or rootfs).

    \b
    Reads manifests/imageList, every YAML file under manifests/ and every
    Helm chart under charts/ (rendered with its default values, or with
    charts/<name>.values.yaml). manifests/imageList.ignore removes images.

    \b
    Examples:
      sealer find-images ./build-context
      sealer find-images --deep --json ./rootfs | jq -r '.[].image'
    """
    result = discover(directory, deep=deep, kube_version=kube_version, ignore=ignore, parallel=parallel,
                      include_helm_tests=helm_tests, chart_timeout=chart_timeout)
    if as_json:
        print_json([f.to_json() for f in result.images])
    else:
        _plain(result.images)
    for f in result.ignored:
        echo_err(f"ignored {f.reference} (ignore list)")
    if result.helm_tests:
        echo_err(f"{len(result.helm_tests)} image(s) used only by helm test pods not listed "
                 "(--helm-tests to include): " + ", ".join(str(f.reference) for f in result.helm_tests))
    for w in result.warnings:
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
