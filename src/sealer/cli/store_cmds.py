"""``sealer fsck`` and ``sealer gc``: check, repair and clean the local store."""

from __future__ import annotations

import click

from sealer.cli.common import app, camel_keys, human_size, json_option, print_json
from sealer.cli.text import echo
from sealer.store import Store
from sealer.store.fsck import fsck


@click.command("fsck")
@click.option("--repair", is_flag=True, help="Drop refs whose content is missing or corrupt, delete corrupt blobs "
              "and leftovers of dead processes. Never deletes a blob an intact image references.")
@click.option("--fast", is_flag=True, help="Do not re-hash blob contents (check structure only).")
@json_option
@click.pass_context
def fsck_cmd(ctx: click.Context, repair: bool, fast: bool, as_json: bool) -> None:
    """Verify every blob's digest and every image's completeness in the local store.

    Exit code 0 when the store is consistent, 1 when problems were found (after --repair: when some remain).

    \b
    Example:
      sealer fsck
      sealer fsck --repair --json
    """
    store = Store(app(ctx).root)
    rep = fsck(store, repair=repair, verify_content=not fast)
    if repair and not rep.ok:
        after = fsck(store, repair=False, verify_content=not fast)
        rep.broken_refs, rep.corrupt_blobs = after.broken_refs, after.corrupt_blobs
        rep.index_problem = after.index_problem
    if as_json:
        print_json(camel_keys(rep.to_json()))
    else:
        if rep.index_problem:
            echo(f"index: {rep.index_problem}")
        click.echo(f"checked {rep.blobs_checked} blobs ({human_size(rep.bytes_checked)})")
        for b in rep.corrupt_blobs:
            click.echo(f"corrupt blob: {b}")
        for r in rep.broken_refs:
            echo(f"broken image: {r}")
        if rep.stale_ingest:
            click.echo(f"leftovers of interrupted work: {len(rep.stale_ingest)}")
        click.echo(f"unreferenced blobs: {rep.unreferenced_blobs} (free them with `sealer gc`)")
        for r in rep.repaired:
            echo(f"repaired: {r}")
        click.echo("store is consistent" if rep.ok else "store has problems (see above; --repair fixes them)")
    ctx.exit(0 if rep.ok else 1)


@click.command("gc")
@json_option
@click.pass_context
def gc_cmd(ctx: click.Context, as_json: bool) -> None:
    """Delete blobs no image references, and leftovers of interrupted builds.

    \b
    Example:
      sealer gc
    """
    n, freed = Store(app(ctx).root).gc()
    if as_json:
        print_json({"blobsFreed": n, "bytesFreed": freed})
    else:
        click.echo(f"deleted {n} blobs, {human_size(freed)} freed")


commands: list[click.Command] = [fsck_cmd, gc_cmd]
