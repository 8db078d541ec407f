"""``sealer images``, ``inspect``, ``tag``, ``rmi``, ``save``, ``load``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.table import Table

from sealer import images as lib
from sealer.cli.common import app, err, human_size, json_option, out, print_json, quiet_option
from sealer.oci.model import Platform
from sealer.store import Store
from sealer.store.archive import load, save
from sealer.store.fsutil import fsync_dir


def _store(ctx: click.Context) -> Store:
    return Store(app(ctx).root)


@click.command("images")
@json_option
@click.pass_context
def images_cmd(ctx: click.Context, as_json: bool) -> None:
    """List cluster images in the local store.

    \b
    Example:
      sealer images
      sealer images --json | jq '.[].name'
    """
    rows = lib.list_images(_store(ctx))
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    t = Table(box=None, pad_edge=False)
    for col in ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "PLATFORM"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.repository, r.tag, r.image_id, r.created, human_size(r.size), ",".join(r.platforms))
    out.print(t)


@click.command("inspect")
@click.option("--platform", default=None, help="For a multi-platform image, the platform to show.")
@json_option
@click.argument("ref")
@click.pass_context
def inspect_cmd(ctx: click.Context, platform: str | None, as_json: bool, ref: str) -> None:
    """Show a cluster image: layers with the instruction that made each, CMDs, cached images, Kubefile.

    \b
    Example:
      sealer inspect my-cluster:v1
      sealer inspect --json my-cluster:v1
    """
    doc = lib.inspect_image(_store(ctx), ref, Platform.parse(platform) if platform else None)
    if as_json:
        print_json(doc)
        return
    out.print(f"[bold]{doc['name']}[/]  {doc['digest']}")
    out.print(f"format: {doc['format']}   platform: {doc['platform']}   build type: {doc['buildType'] or '-'}"
              f"   kubernetes: {doc.get('kubernetesVersion') or '-'}   created: {doc['created']}")
    if doc.get("baseImage"):
        out.print(f"base: {doc['baseImage']} ({doc.get('baseFormat') or 'unknown format'})", markup=False)
    if doc.get("platforms"):
        out.print("platforms: " + ", ".join(doc["platforms"]))
    out.print("\n[bold]Layers[/]")
    for i, layer in enumerate(doc["layers"], 1):
        out.print(f"  {i:>2}. {layer['digest'][7:19]}  {human_size(layer['size']):>9}  {layer['instruction']}")
    out.print("\n[bold]CMDs[/] (run in order at delivery)")
    for c in doc["cmds"] or ["(none)"]:
        out.print(f"  {c}", markup=False)
    if doc.get("applications"):
        out.print("\n[bold]Applications[/]")
        for ap in doc["applications"]:
            out.print(f"  {ap['name']}  {ap.get('type') or '-'}  {' '.join(ap.get('files') or [])}", markup=False)
    plan = (doc.get("launch") or {}).get("plan")
    if plan:
        out.print("\n[bold]Launch plan[/]")
        for st in plan if isinstance(plan, list) else [{"command": plan}]:
            out.print(f"  {('[' + st['app'] + '] ') if st.get('app') else ''}{st['command']}", markup=False)
    out.print(f"\n[bold]Cached images[/] ({len(doc['cachedImages'])}) from {doc.get('cachedImagesFrom')}")
    for im in doc["cachedImages"]:
        out.print(f"  {im.get('reference')}  {str(im.get('digest', ''))[:19]}  {','.join(im.get('platforms') or [])}"
                  f"  <- {', '.join(im.get('sources') or []) or '-'}"
                  + (f"  (listed, not carried: {','.join(im['absentPlatforms'])})" if im.get("absentPlatforms") else "")
                  + (f"  INCOMPLETE: {'; '.join(im['problems'][:2])}" if im.get("problems") else ""), markup=False)
    for note in doc.get("notes") or []:
        out.print(f"  note: {note}", markup=False)
    if doc["kubefile"]:
        out.print("\n[bold]Kubefile[/]")
        out.print(doc["kubefile"].rstrip("\n"), markup=False)


@click.command("tag")
@click.argument("src")
@click.argument("dst")
@click.pass_context
def tag_cmd(ctx: click.Context, src: str, dst: str) -> None:
    """Give an image another name.

    \b
    Example:
      sealer tag my-cluster:v1 registry.local:5000/ops/my-cluster:v1
    """
    name = lib.tag(_store(ctx), src, dst)
    err.print(f"tagged {name}")


@click.command("rmi")
@click.option("--prune", is_flag=True, help="Also drop the build cache and every blob no image references.")
@json_option
@click.argument("refs", nargs=-1)
@click.pass_context
def rmi_cmd(ctx: click.Context, prune: bool, as_json: bool, refs: tuple[str, ...]) -> None:
    """Remove image names; blobs no remaining image references are deleted.

    \b
    Example:
      sealer rmi my-cluster:v1
      sealer rmi --prune
    """
    if not refs and not prune:
        raise click.UsageError("name at least one image, or use --prune")
    removed, n, freed = lib.remove(_store(ctx), list(refs), prune=prune)
    if as_json:
        print_json({"removed": removed, "blobsFreed": n, "bytesFreed": freed})
        return
    for name in removed:
        click.echo(f"untagged: {name}")
    click.echo(f"deleted {n} blobs, {human_size(freed)} freed")


@click.command("save")
@click.option("-o", "--output", required=True, help="Tar file to write, or - for stdout.")
@click.argument("refs", nargs=-1, required=True)
@click.pass_context
def save_cmd(ctx: click.Context, output: str, refs: tuple[str, ...]) -> None:
    """Save images to one tar (an OCI image layout).

    \b
    Example:
      sealer save -o my-cluster.tar my-cluster:v1 my-cluster:v2
      sealer save -o - my-cluster:v1 | ssh host sealer load -i -
    """
    store = _store(ctx)
    if output == "-":
        names = save(store, list(refs), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        dst = Path(output)
        tmp = dst.with_name(f".{dst.name}.partial")
        try:
            with open(tmp, "wb") as fp:
                names = save(store, list(refs), fp)
                fp.flush()
                os.fsync(fp.fileno())
            tmp.replace(dst)
            fsync_dir(dst.parent.resolve())
        finally:
            tmp.unlink(missing_ok=True)
    err.print(f"saved {', '.join(names)}")


@click.command("load")
@click.option("-i", "--input", "input_", required=True, help="Tar file written by `sealer save` (or any OCI "
              "layout tar), or - for stdin.")
@json_option
@click.pass_context
def load_cmd(ctx: click.Context, input_: str, as_json: bool) -> None:
    """Load images from a tar; every digest is verified before anything becomes visible.

    \b
    Example:
      sealer load -i my-cluster.tar
    """
    store = _store(ctx)
    if input_ == "-":
        names = load(store, sys.stdin.buffer, app(ctx).settings.load_limits())
    else:
        with open(input_, "rb") as fp:
            names = load(store, fp, app(ctx).settings.load_limits())
    if as_json:
        print_json({"loaded": names})
    else:
        for n in names:
            click.echo(f"loaded: {n}")


@click.command("export-rootfs", hidden=False)
@click.option("--platform", default=None)
@quiet_option
@click.argument("ref")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def export_rootfs_cmd(ctx: click.Context, platform: str | None, quiet: bool, ref: str, dest: Path) -> None:
    """Unpack an image's rootfs (all layers applied in order) into DEST.

    \b
    Example:
      sealer export-rootfs my-cluster:v1 /tmp/rootfs
    """
    _store(ctx).export_rootfs(ref, dest, Platform.parse(platform) if platform else None)
    if not quiet:
        err.print(f"rootfs of {ref} written to {dest}")


commands: list[click.Command] = [images_cmd, inspect_cmd, tag_cmd, rmi_cmd, save_cmd, load_cmd, export_rootfs_cmd]
