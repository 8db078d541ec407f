"""`--cmd-args` / spec.cmd_args on real test hosts: the image's CMD on master0 receives each value as one argument
(what it wrote on the host is checked byte for byte), shell metacharacters are never run, a bad value stops the
command before any host is touched, and the CMDs run again exactly when their values change (apply, join)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.testhosts import TestHost

from deliver.clusterfiles import cmds_status, write_clusterfile
from deliver.images import FIXTURE_LOG, Built, sealer
from sealer.cli.main import cli

ARGS_IMAGE = "deliver-args:v1"
CANARY = "/tmp/sealer-cmdargs-pwned"
NASTY = (f"it's a \"test\"; $(touch {CANARY}) `touch {CANARY}` & touch {CANARY} | > < * ? ~ \\ $HOME "
         "${Word} \t tab")
DATA = "/var/lib/sealer/data/my-cluster"


@pytest.fixture(scope="module")
def args_image(built: Built, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image FROM the test base whose own CMD prints its arguments NUL-terminated into a file on master0."""
    ctx = tmp_path_factory.mktemp("args-ctx")
    (ctx / "Kubefile").write_text(
        f"FROM {built.base}\n"
        f"CMD printf '%s\\0' \"$Msg\" ${{Word}} $Empty \"${{Count:-none}}\" '$Msg' > {FIXTURE_LOG}/args.bin\n"
        f"CMD echo run >> {FIXTURE_LOG}/args-runs.log\n")
    sealer(built.root, "build", "-q", "-b", "lite", "-t", ARGS_IMAGE, str(ctx))
    return ARGS_IMAGE


def received(h: TestHost) -> list[str]:
    raw = base64.b64decode(h.exec(f"base64 -w0 {FIXTURE_LOG}/args.bin").stdout)
    assert raw.endswith(b"\0"), raw
    return raw.decode().split("\0")[:-1]


def runs(h: TestHost) -> int:
    return len(h.read(f"{FIXTURE_LOG}/args-runs.log").splitlines())


def clusterfile(path: Path, image: str, key: str, master: str, args: list[str]) -> Path:
    return write_clusterfile(path, "my-cluster", image, [master], ssh=f"pk: {key}",
                             spec=f"  cmd_args: {json.dumps(args)}\n")


def test_cmd_args_reach_the_cmd_intact(built: Built, args_image: str, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                       tmp_path: Path) -> None:
    m0, n1 = test_hosts(2)
    key = str(m0.ssh_config.pkey)
    state = ["--state-dir", str(state_dir)]

    # a bad value: a clear error, exit 1, and no host was touched
    for bad, message in ((["bad-key=1"], "'bad-key' is not a valid name"),
                         (["Msg=a,b"], "a comma separates items"),
                         (['Msg=say "hi"'], 'a " inside an unquoted item')):
        r = CliRunner().invoke(cli, ["--root", str(built.root), "run", args_image, "-m", m0.address, "--pk", key,
                                     "--cluster-name", "other", *state,
                                     *[a for b in bad for a in ("--cmd-args", b)]])
        assert r.exit_code == 1 and message in r.output, r.output
    # ${KEY:?msg} with an empty value: the CMD line is refused once the image is read, still before any host
    r = CliRunner().invoke(cli, ["--root", str(built.root), "run", args_image, "-m", m0.address, "--pk", key,
                                 "--cluster-name", "other", *state, "--cmds", "echo ${Need:?say Need}",
                                 "--cmd-args", "Need="])
    assert r.exit_code == 1 and "Need is empty (say Need)" in r.output, r.output
    assert m0.exec("test -e /var/lib/sealer/data/other", check=False).returncode != 0
    assert not (state_dir / "other").exists()

    # run: a CSV-quoted value with quotes, blanks and metacharacters, and two items in one flag
    quoted = '"Msg=' + NASTY.replace('"', '""') + '"'
    out = sealer(built.root, "run", args_image, "-m", m0.address, "--pk", key, "-e", "MyVar=x", *state,
                 "--json", "--cmd-args", quoted, "--cmd-args", "Word=two  words,Empty=")
    assert cmds_status(out, m0.address) == "done"
    # $Msg whole; ${Word} one word; $Empty no word; ${Count:-none} is the shell's; '$Msg' literal
    assert received(m0) == [NASTY, "two  words", "none", "$Msg"]
    assert m0.exec(f"test -e {CANARY}", check=False).returncode != 0
    assert runs(m0) == 1
    saved = (state_dir / "my-cluster" / "Clusterfile").read_text()
    assert "cmd_args" in saved and "two  words" in saved

    # apply with new values in spec.cmd_args: the CMDs run again with them
    cf = clusterfile(tmp_path / "Clusterfile", args_image, key, m0.address, ["Msg=from file", "Word=w;w"])
    out = sealer(built.root, "apply", "-f", str(cf), *state, "--json")
    assert cmds_status(out, m0.address) == "done"
    assert received(m0) == ["from file", "w;w", "none", "$Msg"] and runs(m0) == 2

    # the same again: nothing changed, the CMDs do not run
    out = sealer(built.root, "apply", "-f", str(cf), *state, "--json")
    assert cmds_status(out, m0.address) == "skipped" and runs(m0) == 2

    # --cmd-args overrides the Clusterfile key by key
    out = sealer(built.root, "apply", "-f", str(cf), *state, "--json", "--cmd-args", "Word=$(id)")
    assert cmds_status(out, m0.address) == "done"
    assert received(m0) == ["from file", "$(id)", "none", "$Msg"] and runs(m0) == 3

    # join keeps the applied values (saved with the cluster): master0's CMDs are not run again
    out = sealer(built.root, "join", "-n", n1.address, *state, "--json")
    assert cmds_status(out, m0.address) == "skipped" and runs(m0) == 3

    sealer(built.root, "delete", "--all", "--force", *state)
    assert m0.exec(f"test -e {DATA}", check=False).returncode != 0
