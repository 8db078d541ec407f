"""Unexpected failures print one clear line (no traceback) unless --debug; exit codes are distinct."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli


def test_internal_error_is_reported_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a genuine bug (an exception sealer does not raise on purpose) exercises the internal-error handler
    import sealer.images

    def broken(*args: object) -> None:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(sealer.images, "list_images", broken)
    r = CliRunner().invoke(cli, ["--root", str(tmp_path), "images"])
    assert r.exit_code == 70
    assert "Internal error: ZeroDivisionError: simulated bug" in r.output and "Traceback" not in r.output
    d = CliRunner().invoke(cli, ["--debug", "--root", str(tmp_path), "images"])
    assert isinstance(d.exception, ZeroDivisionError)  # --debug lets the traceback through


def test_root_that_is_a_file_is_an_ordinary_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-dir"
    bad.write_text("x")
    r = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(bad), "images"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"--root {bad}: not a directory" in r.stderr


def test_usage_errors_exit_2_and_teach(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(tmp_path), "build", "-b", "lite"],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "Missing option '-t' / '--tag'" in r.stderr and "sealer build --help" in r.stderr, r.stderr
