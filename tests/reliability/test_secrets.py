"""Passwords from login, credential helpers and registry_config.yaml never show in output, logs, the store,
layers, inspect or history; config.json is 0600."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from helpers.registry import Registry

from sealer.cli.main import cli

from .secrets_scan import run_secrets_scan


def test_no_secret_leaks_anywhere(tmp_path: Path, tls_registry: Registry) -> None:
    rep = run_secrets_scan(tmp_path, tls_registry)
    assert rep.failures == []
    assert rep.hits == []
    assert rep.config_mode == 0o600
    assert rep.commands >= 15 and rep.files_scanned > 5


def test_missing_registries_conf_from_env_means_no_mirrors(tmp_path: Path) -> None:
    """Regression: the CLI option validated $SEALER_REGISTRIES_CONF's existence (a usage error)."""
    env = {"SEALER_REGISTRIES_CONF": str(tmp_path / "missing.conf"), "DOCKER_CONFIG": str(tmp_path / "d")}
    r = CliRunner().invoke(cli, ["--root", str(tmp_path / "s"), "logout", "127.0.0.1:1"], env=env)
    assert r.exit_code == 0, r.output
