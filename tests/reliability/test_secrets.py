"""Passwords from login, credential helpers and registry_config.yaml never show in output, logs, the store,
layers, inspect or history; config.json is 0600."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, start_registry

from sealer.cli.main import cli
from sealer.store import Store

from .secrets_scan import run_secrets_scan


def test_no_secret_leaks_anywhere(tmp_path: Path, tls_registry: Registry) -> None:
    rep = run_secrets_scan(tmp_path, tls_registry)
    assert rep.failures == []
    assert rep.hits == []
    assert rep.config_mode == 0o600
    assert rep.commands >= 15 and rep.files_scanned > 5


def test_missing_registries_conf_from_env_means_no_mirrors(tmp_path: Path, registry: Registry) -> None:
    """$SEALER_REGISTRIES_CONF naming a missing file means no mirrors (not a usage error, and not the machine's
    default file): the same pull that a present file sends to a mirror goes to the origin, and the mirror's
    access log (a counting proxy) stays empty."""
    r = CliRunner().invoke(cli, ["--root", str(tmp_path / "s0"), "logout", "127.0.0.1:1"],
                           env={"SEALER_REGISTRIES_CONF": str(tmp_path / "missing.conf"),
                                "DOCKER_CONFIG": str(tmp_path / "d")})
    assert r.exit_code == 0, r.output    # regression: the CLI option validated the file's existence
    with start_registry(tmp_path / "mirror") as mirror, FaultProxy(mirror) as mirror_log:
        at_origin = push_test_image(registry, "o/app:v1", [1000], seed=1)
        at_mirror = push_test_image(mirror, "o/app:v1", [1000], seed=2)
        present = tmp_path / "present.conf"
        present.write_text(f'[[registry]]\nlocation = "{registry.host}"\n'
                           f'[[registry.mirror]]\nlocation = "{mirror_log.host}"\n')
        for conf, root, want in ((present, "s1", at_mirror.digest), (tmp_path / "missing.conf", "s2",
                                                                      at_origin.digest)):
            before = len(mirror_log.requests)
            r = CliRunner().invoke(cli, ["--root", str(tmp_path / root), "pull", registry.ref("o/app:v1")],
                                   env={"SEALER_REGISTRIES_CONF": str(conf)})
            assert r.exit_code == 0, r.output
            got = Store(tmp_path / root).resolve(registry.ref("o/app:v1")).descriptor.digest
            assert str(got) == want, conf
            asked = len(mirror_log.requests) - before
            assert (asked > 0) == (conf == present), (conf, mirror_log.requests[before:])
