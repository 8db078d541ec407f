"""``sealer infra``: cloud resources that cluster builds created — list what a crashed build left, delete it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sealer.cli.common import json_option, print_json
from sealer.cli.text import echo, echo_err

F = TypeVar("F", bound=Callable[..., Any])


def aliyun_options(f: F) -> F:
    """Region and endpoint flags shared by every command that talks to Aliyun."""
    for opt in reversed([
        click.option("--region", default="cn-shanghai", show_default=True, envvar="ALIBABA_CLOUD_REGION_ID",
                     help="Aliyun region (env ALIBABA_CLOUD_REGION_ID)."),
        click.option("--ecs-endpoint", default=None, help="ECS API endpoint (default ecs.REGION.aliyuncs.com)."),
        click.option("--vpc-endpoint", default=None, help="VPC API endpoint (default vpc.REGION.aliyuncs.com)."),
        click.option("--endpoint-protocol", type=click.Choice(["https", "http"]), default="https",
                     show_default=True, help="Protocol of the API endpoints."),
        click.option("--state-dir", type=click.Path(path_type=Path), default=None,
                     help="sealer's per-user state (env SEALER_STATE_DIR; default ~/.sealer)."),
    ]):
        f = opt(f)
    return f


def _provider(build_id: str, region: str, ecs_endpoint: str | None, vpc_endpoint: str | None,
              endpoint_protocol: str, state: Path) -> Any:
    from sealer.cli.cloud import require_aliyun_credentials
    from sealer.infra.providers.aliyun import AliyunProvider, AliyunSettings

    settings = AliyunSettings(region=region, ecs_endpoint=ecs_endpoint, vpc_endpoint=vpc_endpoint,
                              protocol=endpoint_protocol)
    return AliyunProvider(require_aliyun_credentials(), settings, build_id=build_id, state_dir=state,
                          on_event=lambda m: echo_err(m))


@click.group("infra")
def infra_group() -> None:
    """Cloud resources created by cluster builds (`-b cloud`).

    Every resource a build creates is tagged sealer.io/build-id=BUILD_ID and listed in
    STATE_DIR/infra/BUILD_ID.json until it is deleted, so a build that crashed or was
    kept with --keep-infra can be found and cleaned up.

    \b
      sealer infra list
      sealer infra delete 20261129-174500-3f2a
    """


@infra_group.command("list")
@aliyun_options
@click.option("--local-only", is_flag=True, help="Only read the local ledgers; do not ask Aliyun.")
@json_option
def infra_list(region: str, ecs_endpoint: str | None, vpc_endpoint: str | None, endpoint_protocol: str,
               state_dir: Path | None, local_only: bool, as_json: bool) -> None:
    """Builds whose cloud resources still exist: crashed builds' ledgers, and (with credentials) every
    resource in the region tagged by a sealer build.

    \b
      sealer infra list --json
    """
    from sealer.cli.cloud import aliyun_credentials
    from sealer.cli.cloud import state_dir as resolve_state
    from sealer.infra.providers.ledger import read_ledgers

    state = resolve_state(state_dir)
    rows: dict[str, dict[str, Any]] = {}
    for rec in read_ledgers(state / "infra"):
        if rec.resources:
            rows[rec.build_id] = {"buildId": rec.build_id, "running": rec.alive, "region": rec.region,
                                  "resources": [f"{r['kind']} {r['id']}" for r in rec.resources]}
    if not local_only and aliyun_credentials() is not None:
        p = _provider("list", region, ecs_endpoint, vpc_endpoint, endpoint_protocol, state)
        for kind, rid, build in p.tagged():
            row = rows.setdefault(build, {"buildId": build, "running": False, "region": region, "resources": []})
            if f"{kind} {rid}" not in row["resources"]:
                row["resources"].append(f"{kind} {rid}")
    if as_json:
        print_json(sorted(rows.values(), key=lambda r: r["buildId"]))
        return
    if not rows:
        echo_err("no cloud resources left by sealer builds")
    for row in sorted(rows.values(), key=lambda r: r["buildId"]):
        state_word = "running" if row["running"] else "left behind"
        echo(f"{row['buildId']}  {state_word}  {len(row['resources'])} resources: "
                  f"{', '.join(row['resources'])}")


@infra_group.command("delete")
@click.argument("build_id")
@aliyun_options
@json_option
def infra_delete(build_id: str, region: str, ecs_endpoint: str | None, vpc_endpoint: str | None,
                 endpoint_protocol: str, state_dir: Path | None, as_json: bool) -> None:
    """Delete every cloud resource of BUILD_ID (instances, key pair, security group, vSwitch, VPC).

    Safe to run again; resources already gone are skipped.

    \b
      sealer infra delete 20261129-174500-3f2a
    """
    from sealer.cli.cloud import state_dir as resolve_state

    p = _provider(build_id, region, ecs_endpoint, vpc_endpoint, endpoint_protocol, resolve_state(state_dir))
    deleted = p.destroy()
    if as_json:
        print_json({"buildId": build_id, "deleted": deleted})
    else:
        echo_err(f"deleted {len(deleted)} resources of build {build_id}")


commands: list[click.Command] = [infra_group]
