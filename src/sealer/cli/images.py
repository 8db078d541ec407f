"""``sealer images``, ``inspect``, ``tag``, ``rmi``, ``save``, ``load``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from sealer import images as lib
from sealer.cli.common import app, camel_keys, human_size, json_option, print_json, quiet_option
from sealer.cli.text import echo, echo_err, error, install_task_progress, print_table, styled
from sealer.errors import StoreError
from sealer.oserrors import describe
from sealer.platforms import parse_option
from sealer.store import Store


def _store(ctx: click.Context, create: bool = True) -> Store:
    """The store at --root; read-only commands pass ``create=False`` and never create one."""
    return Store(app(ctx).root, create=create)


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
    problems: list[str] = []
    rows = lib.list_images(_store(ctx, create=False), problems)
    if as_json:
        print_json([camel_keys(r.to_json()) for r in rows])
    else:
        print_table(("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "PLATFORM"),
                    [(r.repository, r.tag, r.image_id, r.created, human_size(r.size), ",".join(r.platforms))
                     for r in rows])
    if problems:
        for p in problems:
            error(p)
        ctx.exit(1)


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
    doc = lib.inspect_image(_store(ctx, create=False), ref, parse_option(platform) if platform is not None else None)
    if as_json:
        print_json(doc)
        return
    _print_inspect(doc)


def _block(lines: Iterable[str]) -> None:
    text = "\n".join(lines)
    if text:
        echo(text)


def _print_inspect(doc: dict[str, Any]) -> None:
    """Every value in ``doc`` comes from the image (labels, history, Kubefile): printed as plain text."""
    echo(styled((str(doc["name"]), "bold"), "  ", str(doc["digest"])))
    echo(f"format: {doc['format']}   platform: {doc['platform']}   build type: {doc['buildType'] or '-'}"
         f"   kubernetes: {doc.get('kubernetesVersion') or '-'}   created: {doc['created']}")
    if doc.get("baseImage"):
        echo(f"base: {doc['baseImage']} ({doc.get('baseFormat') or 'unknown format'})")
    if doc.get("platforms"):
        echo("platforms: " + ", ".join(str(p) for p in doc["platforms"]))
    echo(styled("\n", ("Layers", "bold")))
    # long lists go out as one block each: one print per line made 10^5 CMDs take seconds
    _block(f"  {i:>2}. {str(layer['digest'])[7:19]}  {human_size(layer['size']):>9}  {layer['instruction']}"
           for i, layer in enumerate(doc["layers"], 1))
    echo(styled("\n", ("CMDs", "bold"), " (run in order at delivery)"))
    _block(f"  {c}" for c in doc["cmds"] or ["(none)"])
    if doc.get("applications"):
        echo(styled("\n", ("Applications", "bold")))
        _block(f"  {ap['name']}  {ap.get('type') or '-'}  {' '.join(ap.get('files') or [])}"
               for ap in doc["applications"])
    plan = (doc.get("launch") or {}).get("plan")
    if plan:
        echo(styled("\n", ("Launch plan", "bold")))
        _block(f"  {('[' + st['app'] + '] ') if st.get('app') else ''}{st['command']}"
               for st in (plan if isinstance(plan, list) else [{"command": plan}]))
    echo(styled("\n", ("Cached images", "bold"), f" ({len(doc['cachedImages'])}) from {doc.get('cachedImagesFrom')}"))
    _block(f"  {im.get('reference')}  {str(im.get('digest', ''))[:19]}  {','.join(im.get('platforms') or [])}"
           f"  <- {', '.join(str(s) for s in im.get('sources') or []) or '-'}"
           + (f"  (listed, not carried: {','.join(im['absentPlatforms'])})" if im.get("absentPlatforms") else "")
           + (f"  INCOMPLETE: {'; '.join(im['problems'][:2])}" if im.get("problems") else "")
           for im in doc["cachedImages"])
    _block(f"  note: {note}" for note in doc.get("notes") or [])
    if doc["kubefile"]:
        echo(styled("\n", ("Kubefile", "bold")))
        echo(str(doc["kubefile"]).rstrip("\n"))


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
    echo_err(f"tagged {name}")


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
        echo(f"untagged: {name}")
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
    from sealer.store.archive import save  # looked up here, so a test can stand in for it
    from sealer.store.fsutil import fsync_dir

    store = _store(ctx, create=False)
    if output == "-":
        names = save(store, list(refs), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        dst = Path(output)
        check_output_file(dst, "save")
        tmp = dst.with_name(f".{dst.name}.partial")
        try:
            with open(tmp, "wb") as fp:
                names = save(store, list(refs), fp)
                fp.flush()
                os.fsync(fp.fileno())
            tmp.replace(dst)
            fsync_dir(dst.parent.resolve())
        except OSError as e:
            raise StoreError(describe(e, "save", dst)) from None
        finally:
            tmp.unlink(missing_ok=True)
    echo_err(f"saved {', '.join(names)}")


def check_output_file(dst: Path, verb: str) -> None:
    """Refuse an output path that cannot work before any work is done (a directory, a missing parent)."""
    if dst.is_dir():
        raise StoreError(f"{verb} {dst}: is a directory (name the tar file to write, e.g. {dst}/image.tar)")
    parent = dst.parent
    if not parent.exists():
        raise StoreError(f"{verb} {dst}: directory {parent} does not exist")
    if not parent.is_dir():
        raise StoreError(f"{verb} {dst}: {parent} is not a directory")


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
    from sealer.store.archive import load  # only here: `images`, `inspect` need no archive code

    store = _store(ctx)
    if input_ == "-":
        names = load(store, sys.stdin.buffer, app(ctx).settings.load_limits())
    else:
        try:
            fp = open(input_, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise StoreError(describe(e, "load", input_)) from None
        with fp:
            if Path(input_).is_dir():
                raise StoreError(f"load {input_}: is a directory (give the tar file written by `sealer save`)")
            names = load(store, fp, app(ctx).settings.load_limits())
    if as_json:
        print_json({"loaded": names})
    else:
        for n in names:
            echo(f"loaded: {n}")


@click.command("export-rootfs", hidden=False)
@click.option("--platform", default=None)
@quiet_option
@click.argument("ref")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def export_rootfs_cmd(ctx: click.Context, platform: str | None, quiet: bool, ref: str, dest: Path) -> None:
    """Unpack an image's rootfs (all layers applied in order) into DEST, a new or empty directory.

    The tree appears at DEST only once complete (unpacked beside it, then renamed); a failure leaves nothing.

    \b
    Example:
      sealer export-rootfs my-cluster:v1 /tmp/rootfs
    """
    from sealer.store.export import export_rootfs_atomic

    if quiet:
        install_task_progress(False)
    export_rootfs_atomic(_store(ctx, create=False), ref, dest, parse_option(platform) if platform is not None else None)
    if not quiet:
        echo_err(f"rootfs of {ref} written to {dest}")


commands: list[click.Command] = [images_cmd, inspect_cmd, tag_cmd, rmi_cmd, save_cmd, load_cmd, export_rootfs_cmd]
