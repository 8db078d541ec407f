"""registry_config.yaml: validation with field paths, redaction, generated configs, and the CLI."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sealer.cli.main import cli
from sealer.cluster import parse_registry_config, render_containerd_hosts, render_distribution_configs
from sealer.errors import ClusterConfigError

SAMPLE = """proxy:
  remoteregistries:
    - url: https://registry-1.docker.io
    - url: https://quay.io
      username: robot
      password: Very-Secret-1
    - url: http://10.0.0.9:5000
      domain: private.example.com
"""


def test_sample_config_and_defaults() -> None:
    cfg = parse_registry_config(SAMPLE)
    assert [u.domain for u in cfg.upstreams] == ["docker.io", "quay.io", "private.example.com"]
    assert [u.url for u in cfg.upstreams] == ["https://registry-1.docker.io", "https://quay.io",
                                             "http://10.0.0.9:5000"]
    assert cfg.has_credentials


def test_credentials_never_shown() -> None:
    cfg = parse_registry_config(SAMPLE)
    for text in (repr(cfg), str(cfg), json.dumps(cfg.redacted()), cfg.credentials_warning() or ""):
        assert "Very-Secret-1" not in text and "robot" not in text
    assert cfg.redacted()["upstreams"][1]["password"] == "<redacted>"
    assert "quay.io" in (cfg.credentials_warning() or "")
    assert parse_registry_config("proxy: {remoteurl: 'http://a:5000'}").credentials_warning() is None


def test_plain_distribution_config_is_one_upstream() -> None:
    cfg = parse_registry_config("version: 0.1\nstorage: {filesystem: {rootdirectory: /x}}\n"
                                "proxy: {remoteurl: 'https://ghcr.io', username: u, password: 123}\n")
    assert [(u.domain, u.username, u.password) for u in cfg.upstreams] == [("ghcr.io", "u", "123")]


@pytest.mark.parametrize(("text", "message", "line"), [
    ("proxy:\n  remoteregistries:\n    - url: ftp://x\n", "proxy.remoteregistries[0].url: expected an http", 3),
    ("proxy:\n  remoteregistries:\n    - url: https://u:p@x.io\n", "credentials in the URL are not allowed", 3),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io/v2/\n", "registry root", 3),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io\n      username: u\n",
     "proxy.remoteregistries[0].password: required when the other credential is given", 3),
    ("proxy:\n  remoteregistries:\n    - {url: 'https://x.io'}\n    - {url: 'https://x.io'}\n",
     "proxy.remoteregistries[1].domain: domain x.io is already proxied", 4),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io\n      pasword: p\n",
     "proxy.remoteregistries[0].pasword: unknown field", 4),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io\n      tls: {insecureSkipVerify: true}\n",
     "cannot skip TLS verification", 4),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io\n      tls: {ca: nope.pem}\n", "tls.ca: no such file", 4),
    ("proxy:\n  remoteregistries:\n    - url: https://x.io\n      domain: 'bad domain'\n", "not a registry domain", 4),
    ("proxy:\n  remoteregistries: []\n", "at least one upstream", 2),
    ("storage: {}\n", "proxy: required", 1),
    ("proxy: {remoteregistries: [{url: x}]\n", "parse YAML", 2),
])
def test_validation_errors(text: str, message: str, line: int) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_registry_config(text, "etc/registry_config.yaml", base=Path("/nonexistent"))
    assert message in str(e.value)
    assert e.value.file == "etc/registry_config.yaml"
    assert e.value.line == line, str(e.value)


def test_generated_configs(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = parse_registry_config(SAMPLE + "    - url: https://ghcr.io\n      tls: {ca: ca.pem}\n", base=tmp_path)
    files = render_distribution_configs(cfg, "/var/lib/proxy", 6001)
    quay = yaml.safe_load(files["quay.io/config.yml"])
    assert quay["proxy"] == {"remoteurl": "https://quay.io", "username": "robot", "password": "Very-Secret-1"}
    assert quay["http"]["addr"] == "0.0.0.0:6002"
    assert quay["storage"]["filesystem"]["rootdirectory"] == "/var/lib/proxy/quay.io"
    assert yaml.safe_load(files["docker.io/config.yml"])["proxy"] == {"remoteurl": "https://registry-1.docker.io"}
    assert files["ghcr.io/env"] == f"SSL_CERT_FILE={ca}\n"
    hosts = render_containerd_hosts(cfg, "sea.hub", 6001)
    assert tomllib.loads(hosts["docker.io/hosts.toml"]) == {
        "server": "https://registry-1.docker.io",
        "host": {"http://sea.hub:6001": {"capabilities": ["pull", "resolve"]}}}
    assert tomllib.loads(hosts["private.example.com/hosts.toml"])["server"] == "http://10.0.0.9:5000"
    assert "http://sea.hub:6003" in tomllib.loads(hosts["private.example.com/hosts.toml"])["host"]


def test_cli_redacts_and_writes_private_files(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "registry_config.yaml").write_text(SAMPLE)
    runner = CliRunner()
    r = runner.invoke(cli, ["registry-proxy-config", str(rootfs), "--json"])
    assert r.exit_code == 0, r.output
    assert "Very-Secret-1" not in r.output and "robot" not in r.output
    assert json.loads(r.stdout)["upstreams"][1]["proxy"] == "sea.hub:5002"
    out = tmp_path / "out"
    r = runner.invoke(cli, ["registry-proxy-config", str(rootfs), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Very-Secret-1" not in r.output
    conf = out / "quay.io" / "config.yml"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert (out / "containerd" / "docker.io" / "hosts.toml").is_file()
    r = runner.invoke(cli, ["registry-proxy-config", str(tmp_path)])
    assert r.exit_code == 1 and "no etc/registry_config.yaml" in r.output
