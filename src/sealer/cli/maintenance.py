"""Maintenance commands: ``sealer verify IMAGE`` (are the cached images of a cluster image complete?)."""

from __future__ import annotations

import click

from sealer.cli.common import app, json_option, print_json, quiet_option
from sealer.cli.text import echo, echo_err
from sealer.errors import SealerError
from sealer.store import Store


class VerifyFailed(SealerError):
    """Cached images are incomplete or corrupt."""


@click.command("verify")
@click.argument("image")
@json_option
@quiet_option
@click.pass_context
def verify(ctx: click.Context, image: str, as_json: bool, quiet: bool) -> None:
    """Check that every image cached in IMAGE's registry is complete.

    Streams the cluster image's layers (no unpacking) and checks every image its registry/ holds and
    every image recorded in its io.sealer.images label (or sealer v0.9's sealer.image.container.images):
    tag and revision links, manifest, config and every layer present with matching size and digest.
    Images in registry/ missing from the record, and recorded images missing from registry/, are
    problems. Exits non-zero naming each problem.

    \b
    Example:
      sealer verify my-cluster:v1
    """
    from sealer.carried.verify import verify_image

    store = Store(app(ctx).root, create=False)
    if not quiet and not as_json:
        echo_err(f"verifying {image} ...")
    report = verify_image(store, image)
    if as_json:
        print_json(report.to_json())
    elif not quiet:
        for c in report.images:
            mark = "ok" if not c.problems else "FAILED"
            echo(f"{mark:6} {c.reference}  {c.digest or '-'}  {','.join(c.platforms)}"
                 + (f"  ({c.source})" if c.source else ""))
        for name in report.unrecorded:
            echo(f"{'NOTE':6} {name}: in registry/, not in the image's record ({report.record})")
        for note in report.notes:
            echo(f"note: {note}")
        echo(f"{len(report.images)} images, {report.blobs} blobs, {report.bytes} bytes checked")
    if not report.ok:
        shown = "\n  ".join(report.problems[:50])
        more = f"\n  ... and {len(report.problems) - 50} more" if len(report.problems) > 50 else ""
        raise VerifyFailed(f"verify {report.image}: {len(report.problems)} problem(s):\n  {shown}{more}")


commands: list[click.Command] = [verify]
