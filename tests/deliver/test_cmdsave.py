"""What `run --cmds/--apps` chose is kept with the cluster (the state dir's Clusterfile, sealer v0.9's
`spec.cmd`/`spec.appNames`): `join` and an `apply` that chooses nothing do not run master0's CMDs again (nor other
ones); an `apply` with other `--cmds`/`--apps` or another `spec.cmd`/`spec.appNames` runs the new ones. Every
run of a CMD appends a line to a file on master0, so the runs are counted there (real test hosts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.testhosts import TestHost

from deliver.clusterfiles import cmds_status, write_clusterfile
from deliver.images import FIXTURE_LOG, Built, sealer
from deliver.test_launch_apps import app_context, launch_log
from sealer.cli.main import cli

SAVE_IMAGE = "deliver-save:v1"
LOG = f"{FIXTURE_LOG}/save.log"


@pytest.fixture(scope="module")
def save_image(built: Built, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image FROM the test base (whose CMD appends to cmds.log) with its own CMD appending `image`."""
    ctx = tmp_path_factory.mktemp("save-ctx")
    (ctx / "Kubefile").write_text(f"FROM {built.base}\nCMD echo image >> {LOG}\n")
    sealer(built.root, "build", "-q", "-b", "lite", "-t", SAVE_IMAGE, str(ctx))
    return SAVE_IMAGE


def lines(h: TestHost, path: str) -> list[str]:
    r = h.exec(f"cat {path}", check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def base_runs(h: TestHost) -> int:
    return len([x for x in lines(h, f"{FIXTURE_LOG}/cmds.log") if x.startswith("base-first")])


def clusterfile(path: Path, image: str, key: str, master: str, nodes: list[str], extra: str = "") -> Path:
    return write_clusterfile(path, "my-cluster", image, [master], nodes, ssh=f"pk: {key}", spec=extra)


def test_run_cmds_are_kept_and_spec_cmd_is_used(built: Built, save_image: str, test_hosts,  # type: ignore[no-untyped-def]
                                                state_dir: Path, tmp_path: Path) -> None:
    m0, n1 = test_hosts(2)
    key = str(m0.ssh_config.pkey)
    state = ["--state-dir", str(state_dir), "--json"]

    out = sealer(built.root, "run", save_image, "-m", m0.address, "--pk", key, "-e", "MyVar=x", *state,
                 "--cmds", f"echo chosen >> {LOG}")
    assert cmds_status(out, m0.address) == "done"
    assert lines(m0, LOG) == ["chosen"] and base_runs(m0) == 1   # --cmds replaced the image's CMD, base first
    saved = (state_dir / "my-cluster" / "Clusterfile").read_text()
    assert "echo chosen" in saved

    # join: what run chose is kept, so master0's CMDs are not run again (neither the image's own)
    out = sealer(built.root, "join", "-n", n1.address, *state)
    assert cmds_status(out, m0.address) == "skipped"
    assert lines(m0, LOG) == ["chosen"] and base_runs(m0) == 1

    # apply of the same cluster with a Clusterfile that chooses nothing: run's choice stays, nothing runs
    cf = clusterfile(tmp_path / "Clusterfile", save_image, key, m0.address, [n1.address])
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "skipped"
    assert lines(m0, LOG) == ["chosen"] and base_runs(m0) == 1

    # apply --cmds with other CMDs: the new ones run (the base's first), once
    out = sealer(built.root, "apply", "-f", str(cf), *state, "--cmds", f"echo second >> {LOG}")
    assert cmds_status(out, m0.address) == "done"
    assert lines(m0, LOG) == ["chosen", "second"] and base_runs(m0) == 2
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "skipped" and lines(m0, LOG) == ["chosen", "second"]

    # the Clusterfile's spec.cmd replaces the image's CMDs, with spec.cmd_args; --cmds would win over it
    cf = clusterfile(tmp_path / "Clusterfile", save_image, key, m0.address, [n1.address],
                     f"  cmd_args: [Word=w1]\n  cmd: [\"echo file-$Word >> {LOG}\"]\n")
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "done"
    assert lines(m0, LOG) == ["chosen", "second", "file-w1"] and base_runs(m0) == 3
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "skipped"

    # spec.cmd: [] asks for the image's own CMDs again
    cf = clusterfile(tmp_path / "Clusterfile", save_image, key, m0.address, [n1.address], "  cmd: []\n")
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "done"
    assert lines(m0, LOG) == ["chosen", "second", "file-w1", "image"] and base_runs(m0) == 4
    assert lines(n1, LOG) == [], "CMDs run on master0 only"

    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))


def test_run_apps_are_kept_and_spec_app_names_is_used(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    m0, n1, n2 = test_hosts(3)
    sealer(built.root, "build", "-q", "-b", "lite", "-t", "save-apps:v1", str(app_context(tmp_path, built.base)))
    key = str(m0.ssh_config.pkey)
    state = ["--state-dir", str(state_dir), "--json"]
    web = "kubectl apply -f application/apps/web/web.yaml (rootfs) APP_MODE=prod"

    out = sealer(built.root, "run", "save-apps:v1", "-m", m0.address, "--pk", key, "-e", "MyVar=x", *state,
                 "--apps", "setup")
    assert cmds_status(out, m0.address) == "done" and launch_log(m0) == ["setup-ran"]

    out = sealer(built.root, "join", "-n", n1.address, *state)
    assert cmds_status(out, m0.address) == "skipped" and launch_log(m0) == ["setup-ran"]

    cf = clusterfile(tmp_path / "Clusterfile", "save-apps:v1", key, m0.address, [n1.address])
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "skipped" and launch_log(m0) == ["setup-ran"]

    out = sealer(built.root, "apply", "-f", str(cf), *state, "--apps", "web")
    assert cmds_status(out, m0.address) == "done" and launch_log(m0) == ["setup-ran", web]

    cf = clusterfile(tmp_path / "Clusterfile", "save-apps:v1", key, m0.address, [n1.address],
                     "  appNames: [setup]\n")
    out = sealer(built.root, "apply", "-f", str(cf), *state)
    assert cmds_status(out, m0.address) == "done" and launch_log(m0) == ["setup-ran", web, "setup-ran"]

    # an app the image does not have: exit 1 before any host is touched, the saved choice unchanged
    bad = clusterfile(tmp_path / "Clusterfile", "save-apps:v1", key, m0.address, [n1.address],
                      "  appNames: [nope]\n")
    r = CliRunner().invoke(cli, ["--root", str(built.root), "apply", "-f", str(bad), *state])
    assert r.exit_code == 1 and "app nope is not in the image" in r.output, r.output
    assert "appNames:\n  - setup" in (state_dir / "my-cluster" / "Clusterfile").read_text()
    out = sealer(built.root, "join", "-n", n2.address, *state)
    assert cmds_status(out, m0.address) == "skipped" and launch_log(m0) == ["setup-ran", web, "setup-ran"]

    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
