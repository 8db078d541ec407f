"""Unexpected failures print one clear line (no traceback) unless --debug; exit codes are distinct."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_internal_error_is_reported_without_traceback(tmp_path: Path) -> None:
    # a store root that is a file: not a SealerError path, so it exercises the internal-error handler
    bad = tmp_path / "not-a-dir"
    bad.write_text("x")
    r = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(bad), "images"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert r.stderr.strip()
    d = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--debug", "--root", str(bad), "images"],
                       capture_output=True, text=True)
    assert d.returncode != 0 and "Traceback" in d.stderr


def test_usage_errors_exit_2_and_teach(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(tmp_path), "build", "-b", "lite"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "-t" in r.stderr
