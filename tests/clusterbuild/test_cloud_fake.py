"""`sealer build -b cloud` against the FAKE ECS/VPC endpoint (tests/helpers/fake_aliyun.py, checking V3
signatures), whose instances are real SSH test hosts: the whole flow, and every created resource deleted — after
success, after a failing RUN and after SIGINT; a build killed with -9 leaves a ledger the next build reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_aliyun import FakeAliyun
from helpers.registry import Registry
from helpers.testhosts import TestHost, test_hosts  # noqa: F401 - the fixture

from clusterbuild.test_existing_hosts import PULL, _env, app_context, base_context, sealer, upstream  # noqa: F401

AK, SECRET = "LTAI-build-test", "build-test-secret-value-42"
SEALER = [sys.executable, "-m", "sealer.cli.main"]


@pytest.fixture
def cloud(test_hosts, tmp_path: Path) -> Iterator[tuple[FakeAliyun, str, list[TestHost]]]:  # type: ignore[no-untyped-def]  # noqa: F811
    hosts: list[TestHost] = test_hosts(2)
    keys = test_hosts.pool.base / "authorized_keys"

    def running(ip: str, public_key: str | None) -> None:  # what cloud-init does with the key pair
        assert public_key is not None
        with open(keys, "a") as f:
            f.write(public_key + "\n")

    fake = FakeAliyun(credentials={AK: SECRET}, ip_pool=[h.address for h in hosts], on_instance_running=running)
    endpoint = fake.serve()
    yield fake, endpoint, hosts
    fake.close()


def _cmd(root: Path, endpoint: str, ctx: Path, tag: str, *extra: str) -> list[str]:
    return [*SEALER, "--root", str(root), "build", "-t", tag, "--region", "cn-test-1", "--ecs-endpoint", endpoint,
            "--vpc-endpoint", endpoint, "--endpoint-protocol", "http", "--no-default-upstreams", "--node-count", "1",
            *extra, str(ctx)]


def _proc_env(tmp: Path, reg: Registry) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(_env(tmp, reg), ALIBABA_CLOUD_ACCESS_KEY_ID=AK, ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET)
    return env


def _base(tmp: Path, reg: Registry) -> Path:
    root = tmp / "store"
    sealer(root, "build", "-q", "-b", "lite", "-t", "cb-base:v1", str(base_context(tmp)), env=_env(tmp, reg))
    return root


def test_cloud_build_on_fake_ecs_deletes_everything(tmp_path: Path, upstream: Registry,  # noqa: F811
                                                    cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, hosts = cloud
    root = _base(tmp_path, upstream)
    ctx = app_context(tmp_path, "app", f"{PULL} docker.io/library/operand:1 >/dev/null")
    r = subprocess.run(_cmd(root, endpoint, ctx, "cloud-app:v1"), env=_proc_env(tmp_path, upstream),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert SECRET not in r.stdout + r.stderr
    assert fake.live() == [], [(x.kind, x.id) for x in fake.live()]
    created = [c.action for c in fake.calls if c.action.startswith(("Create", "Run", "Import")) and not c.error]
    assert created == ["CreateVpc", "CreateVSwitch", "CreateSecurityGroup", "ImportKeyPair", "RunInstances"]
    info = json.loads(sealer(root, "inspect", "cloud-app:v1", "--json", env=_env(tmp_path, upstream)))
    operand = next(i for i in info["cachedImages"] if i["reference"] == "docker.io/library/operand:1")
    assert f"pulled by node {hosts[0].address}" in " ".join(str(s) for s in operand["sources"])
    assert info["buildType"] == "cloud"


def test_failing_run_still_deletes_everything(tmp_path: Path, upstream: Registry,  # noqa: F811
                                              cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, _ = cloud
    root = _base(tmp_path, upstream)
    ctx = app_context(tmp_path, "app", "echo about to fail && exit 7")
    r = subprocess.run(_cmd(root, endpoint, ctx, "cloud-app:v1"), env=_proc_env(tmp_path, upstream),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and "exit code 7" in r.stderr and "Kubefile:3" in r.stderr
    assert fake.live() == []
    assert "cloud-app" not in sealer(root, "images", env=_env(tmp_path, upstream))


def _start_until_run(tmp: Path, reg: Registry, endpoint: str) -> tuple[subprocess.Popen[str], Path]:
    root = _base(tmp, reg)
    ctx = app_context(tmp, "app", "sleep 120")
    proc = subprocess.Popen(_cmd(root, endpoint, ctx, "cloud-app:v1"), env=_proc_env(tmp, reg),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        if line.startswith("STEP 3/") or time.monotonic() > deadline:
            break
    time.sleep(1.0)  # the RUN is running on master0 now
    return proc, root


def test_sigint_mid_build_deletes_everything(tmp_path: Path, upstream: Registry,  # noqa: F811
                                             cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, hosts = cloud
    proc, _ = _start_until_run(tmp_path, upstream, endpoint)
    assert fake.live("instance"), "the nodes exist while the RUN runs"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert fake.live() == []
    assert not [p for h in hosts for p in h.processes() if "sleep 120" in p], "the remote RUN was stopped"


def test_kill9_leaves_a_ledger_the_next_build_reports(tmp_path: Path, upstream: Registry,  # noqa: F811
                                                      cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, _ = cloud
    proc, root = _start_until_run(tmp_path, upstream, endpoint)
    proc.kill()
    proc.communicate(timeout=60)
    assert len(fake.live()) == 6  # VPC, vSwitch, security group, key pair, 2 instances
    env = _proc_env(tmp_path, upstream)
    ctx = app_context(tmp_path, "app2", "true")
    r = subprocess.run(_cmd(root, "127.0.0.1:9", ctx, "again:v1"), env=env, capture_output=True, text=True,
                       timeout=120)
    assert "left 6 resources behind" in r.stderr and "sealer infra delete" in r.stderr
    build_id = r.stderr.split("WARNING: build ", 1)[1].split()[0]
    flags = ["--region", "cn-test-1", "--ecs-endpoint", endpoint, "--vpc-endpoint", endpoint,
             "--endpoint-protocol", "http"]
    d = subprocess.run([*SEALER, "infra", "delete", build_id, *flags], env=env, capture_output=True, text=True,
                       timeout=120)
    assert d.returncode == 0, d.stderr
    assert fake.live() == []


def test_keep_infra_keeps_and_says_how_to_delete(tmp_path: Path, upstream: Registry,  # noqa: F811
                                                 cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, _ = cloud
    root = _base(tmp_path, upstream)
    ctx = app_context(tmp_path, "app", "true")
    env = _proc_env(tmp_path, upstream)
    r = subprocess.run(_cmd(root, endpoint, ctx, "kept:v1", "--keep-infra"), env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(fake.live("instance")) == 2
    hint = r.stderr.split("`sealer infra delete ", 1)[1].split("`", 1)[0]
    d = subprocess.run([*SEALER, "infra", "delete", hint, "--region", "cn-test-1", "--ecs-endpoint", endpoint,
                        "--vpc-endpoint", endpoint, "--endpoint-protocol", "http"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert d.returncode == 0, d.stderr
    assert fake.live() == []


def test_sigterm_mid_build_deletes_everything(tmp_path: Path, upstream: Registry,  # noqa: F811
                                              cloud: tuple[FakeAliyun, str, list[TestHost]]) -> None:
    fake, endpoint, _ = cloud
    proc, _ = _start_until_run(tmp_path, upstream, endpoint)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert fake.live() == []
