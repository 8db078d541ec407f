"""The settings object is the one reader of sealer's environment variables (cli/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli
from sealer.cli.settings import Settings
from sealer.errors import ArchiveError
from sealer.store.archive import LoadLimits


def test_auth_file_precedence(tmp_path: Path) -> None:
    s = Settings.from_environment(tmp_path, env={"DOCKER_CONFIG": str(tmp_path / "dc")})
    assert s.auth_file == tmp_path / "dc" / "config.json"
    s = Settings.from_environment(tmp_path, env={"DOCKER_CONFIG": str(tmp_path / "dc"),
                                                 "REGISTRY_AUTH_FILE": str(tmp_path / "a.json")})
    assert s.auth_file == tmp_path / "a.json"
    assert s.auth_file_for(tmp_path / "x.json") == tmp_path / "x.json"
    assert s.registry_options().auth_file == tmp_path / "a.json"
    assert Settings.from_environment(tmp_path, env={}).auth_file is None


def test_registries_conf_named_but_missing_means_no_mirrors(tmp_path: Path) -> None:
    s = Settings.from_environment(tmp_path, env={"SEALER_REGISTRIES_CONF": str(tmp_path / "missing.conf")})
    opts = s.registry_options()
    assert s.registries_conf is None and not opts.use_mirrors
    conf = tmp_path / "r.conf"
    conf.write_text("")
    s = Settings.from_environment(tmp_path, env={"SEALER_REGISTRIES_CONF": str(conf)})
    assert s.registry_options().registries_conf == conf and s.registry_options().use_mirrors


def test_root_epoch_and_load_limits(tmp_path: Path) -> None:
    env = {"SEALER_ROOT": str(tmp_path / "r"), "SOURCE_DATE_EPOCH": "1700000000",
           "SEALER_LOAD_MAX_ENTRIES": "60", "SEALER_LOAD_MAX_BYTES": str(2 << 20)}
    s = Settings.from_environment(None, env=env)
    assert s.root == tmp_path / "r" and s.source_date_epoch == 1700000000
    assert s.load_limits() == LoadLimits(60, 2 << 20)
    assert Settings.from_environment(tmp_path / "flag", env=env).root == tmp_path / "flag"
    bad = Settings.from_environment(tmp_path, env={"SEALER_LOAD_MAX_BYTES": "lots"})
    with pytest.raises(ArchiveError, match="SEALER_LOAD_MAX_BYTES='lots' is not a number"):
        bad.load_limits()


def test_a_bad_load_limit_fails_load_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEALER_LOAD_MAX_ENTRIES", "many")
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(tmp_path / "s"), "images"]).exit_code == 0
    r = runner.invoke(cli, ["--root", str(tmp_path / "s"), "load", "-i", "-"], input=b"")
    assert r.exit_code == 1 and "SEALER_LOAD_MAX_ENTRIES='many' is not a number" in r.output
