"""Output stays at the edge: the library reports through sealer.progress and logs to the ``sealer`` logger;
only the CLI writes, and ``--debug`` shows the library's debug log."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.registry import Registry, push_test_image

from sealer.build.executor import build
from sealer.build.options import BuildOptions
from sealer.cli.main import cli
from sealer.store import Store


def test_library_build_writes_nothing_to_stdout_or_stderr(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nRUN echo from-run-step && cp a.txt b.txt\nCMD echo hi\n")
    (tmp_path / "store").mkdir()
    result = build(BuildOptions(context=ctx, tags=["lib:v1"], backend="lite"), Store(tmp_path / "store"))
    assert result.tags == ["docker.io/library/lib:v1"]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_cli_build_shows_steps_and_run_output_on_stderr(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nRUN echo from-run-step > x\n")
    r = CliRunner().invoke(cli, ["--root", str(tmp_path / "s"), "build", "-b", "lite", "-t", "o:v1", str(ctx)])
    assert r.exit_code == 0, r.output
    assert "STEP 2/2: RUN echo from-run-step > x" in r.stderr
    assert "Successfully built" in r.stdout and "STEP" not in r.stdout


def test_debug_flag_shows_library_debug_logs(tmp_path: Path, registry: Registry) -> None:
    push_test_image(registry, "ns/app:v1", [1000], seed=3)
    runner = CliRunner()
    quiet = runner.invoke(cli, ["--root", str(tmp_path / "a"), "pull", "-q", registry.ref("ns/app:v1")])
    assert quiet.exit_code == 0, quiet.output
    assert "DEBUG" not in quiet.stderr
    loud = runner.invoke(cli, ["--root", str(tmp_path / "b"), "--debug", "pull", "-q", registry.ref("ns/app:v1")])
    assert loud.exit_code == 0, loud.output
    assert f"DEBUG sealer.registry.client: GET http://{registry.host}/v2/ns/app/manifests/v1 -> 200" in loud.stderr
    again = runner.invoke(cli, ["--root", str(tmp_path / "c"), "pull", "-q", registry.ref("ns/app:v1")])
    assert "DEBUG" not in again.stderr
