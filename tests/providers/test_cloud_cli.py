"""The CLI edge of cloud builds: credentials checked first, leftover builds listed and deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_aliyun import ApiError, FakeAliyun

from sealer.infra.providers import NodeSpec
from sealer.infra.providers.aliyun import AliyunCredentials, AliyunProvider, AliyunSettings

AK, SECRET = "LTAI-cli-key", "cli-secret-value-0123456789"
SEALER = [sys.executable, "-m", "sealer.cli.main"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ACCESSKEY"))}
    env.update(SEALER_ROOT=str(tmp_path / "store"), SEALER_STATE_DIR=str(tmp_path / "state"), **extra)
    return env


def test_default_build_without_credentials_fails_at_once(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Kubefile .\n")
    r = subprocess.run([*SEALER, "build", "-t", "x:v1", str(ctx)], env=_env(tmp_path), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    for word in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "-b lite", "-b container"):
        assert word in r.stderr, word
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "store").exists(), "nothing was started before the credentials check"


def test_partial_credentials_are_not_enough(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\n")
    r = subprocess.run([*SEALER, "build", "-b", "cloud", "-t", "x:v1", str(ctx)],
                       env=_env(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID="only-the-id"), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in r.stderr


@pytest.fixture
def fake() -> Iterator[tuple[FakeAliyun, str]]:
    f = FakeAliyun(credentials={AK: SECRET}, ip_pool=["127.0.90.10", "127.0.90.11"])
    yield f, f.serve()
    f.close()


def test_infra_list_and_delete_a_left_behind_build(fake: tuple[FakeAliyun, str], tmp_path: Path) -> None:
    f, endpoint = fake
    settings = AliyunSettings(region=f.region, ecs_endpoint=endpoint, vpc_endpoint=endpoint, protocol="http",
                              poll_interval=0.01, timeout=5)
    p = AliyunProvider(AliyunCredentials(AK, SECRET), settings, build_id="left-1", state_dir=tmp_path / "state")
    f.fail_next["RunInstances"] = ApiError(403, "OperationDenied.NoStock", "out of stock")
    with pytest.raises(Exception, match="NoStock"):
        p.create(NodeSpec())
    assert f.live()
    flags = ["--region", f.region, "--ecs-endpoint", endpoint, "--vpc-endpoint", endpoint,
             "--endpoint-protocol", "http"]
    env = _env(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=AK, ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET)
    r = subprocess.run([*SEALER, "infra", "list", *flags, "--json"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["buildId"] for row in rows] == ["left-1"]
    assert len(rows[0]["resources"]) == 4
    r = subprocess.run([*SEALER, "infra", "delete", "left-1", *flags, "--json"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["deleted"]) == 4
    assert f.live() == []
    assert SECRET not in r.stdout + r.stderr
    r = subprocess.run([*SEALER, "infra", "list", *flags, "--json"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert json.loads(r.stdout) == []
