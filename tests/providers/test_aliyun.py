"""The Aliyun ECS provider against the FAKE ECS/VPC endpoint (tests/helpers/fake_aliyun.py), through the real SDK.

The fake verifies every request's V3 signature and follows the documented request/response shapes and resource
dependencies; instances are "reachable" when a TCP listener answers on their address.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fake_aliyun import ApiError, FakeAliyun

from sealer.infra.providers import NodeSpec, ProviderError
from sealer.infra.providers.aliyun import TAG_KEY, AliyunCredentials, AliyunProvider, AliyunSettings
from sealer.infra.providers.ledger import read_ledgers, stale_ledgers

AK, SECRET = "LTAI-test-key-id", "fake-secret-0123456789abcdef"


class Listeners:
    """TCP listeners standing in for the instances' SSH port (one per address, stopped at teardown)."""

    def __init__(self, addresses: list[str]) -> None:
        self.socks: list[socket.socket] = []
        probe = socket.socket()
        probe.bind((addresses[0], 0))
        self.port = probe.getsockname()[1]
        probe.close()
        for a in addresses:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, self.port))
            s.listen(8)
            self.socks.append(s)

    def close(self) -> None:
        for s in self.socks:
            s.close()


@pytest.fixture
def pool() -> Iterator[tuple[list[str], int]]:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    addresses = [f"127.0.{77 + worker}.{n}" for n in range(10, 14)]
    lst = Listeners(addresses)
    yield addresses, lst.port
    lst.close()


@pytest.fixture
def fake(pool: tuple[list[str], int]) -> Iterator[tuple[FakeAliyun, str]]:
    f = FakeAliyun(credentials={AK: SECRET}, ip_pool=list(pool[0]))
    endpoint = f.serve()
    yield f, endpoint
    f.close()


def _provider(fake: tuple[FakeAliyun, str], port: int, tmp_path: Path, build_id: str = "b1",
              secret: str = SECRET) -> AliyunProvider:
    settings = AliyunSettings(region=fake[0].region, ecs_endpoint=fake[1], vpc_endpoint=fake[1], protocol="http",
                              ssh_port=port, poll_interval=0.01, timeout=20, internet_max_bandwidth_out=0)
    return AliyunProvider(AliyunCredentials(AK, secret), settings, build_id=build_id, state_dir=tmp_path / "state")


def test_create_then_destroy_leaves_nothing(fake: tuple[FakeAliyun, str], pool: tuple[list[str], int],
                                            tmp_path: Path) -> None:
    f, _ = fake
    p = _provider(fake, pool[1], tmp_path)
    cluster = p.create(NodeSpec(masters=1, nodes=2))
    assert cluster.masters == [pool[0][0]] and cluster.workers == pool[0][1:3]
    assert cluster.private_key is not None and oct(cluster.private_key.stat().st_mode & 0o777) == "0o600"
    kinds = sorted(r.kind for r in f.live())
    assert kinds == ["instance", "instance", "instance", "keypair", "sg", "vpc", "vswitch"]
    assert all(r.tags.get(TAG_KEY) == "b1" for r in f.live()), "every resource is tagged with the build id"
    sg = f.live("sg")[0]
    assert {"IpProtocol": "tcp", "PortRange": f"{pool[1]}/{pool[1]}", "SourceCidrIp": "0.0.0.0/0"} in sg.attrs["rules"]
    inst = f.live("instance")[0]
    assert inst.attrs["KeyPairName"] == "sealer-b1" and not inst.attrs["HasPassword"]
    run = next(c for c in f.calls if c.action == "RunInstances")
    assert run.params["InstanceChargeType"] == "PostPaid" and run.params["Amount"] == "3"
    assert run.params["SystemDisk.Category"] == "cloud_essd" and run.params["Tag.1.Key"] == TAG_KEY
    ledger = read_ledgers(tmp_path / "state" / "infra")
    assert len(ledger) == 1 and len(ledger[0].resources) == 7

    deleted = p.destroy()
    assert f.live() == [], f"left behind: {[(r.kind, r.id) for r in f.live()]}"
    assert len(deleted) == 7
    order = [c.action for c in f.calls if c.action.startswith("Delete") and c.error is None]
    assert order == ["DeleteInstances", "DeleteKeyPairs", "DeleteSecurityGroup", "DeleteVSwitch", "DeleteVpc"]
    assert read_ledgers(tmp_path / "state" / "infra") == []
    assert p.destroy() == [], "destroy is idempotent"
    assert sorted(pool[0]) == sorted(f.ip_pool), "every instance was released"


def test_wrong_secret_is_refused_by_the_signature_check(fake: tuple[FakeAliyun, str], pool: tuple[list[str], int],
                                                        tmp_path: Path) -> None:
    p = _provider(fake, pool[1], tmp_path, secret="not-the-secret")
    with pytest.raises(ProviderError) as e:
        p.create(NodeSpec())
    assert "SignatureDoesNotMatch" in str(e.value)
    assert "not-the-secret" not in str(e.value)
    assert fake[0].live() == []


def test_failure_mid_create_is_cleaned_up(fake: tuple[FakeAliyun, str], pool: tuple[list[str], int],
                                          tmp_path: Path) -> None:
    f, _ = fake
    f.fail_next["RunInstances"] = ApiError(403, "OperationDenied.NoStock", "out of stock")
    p = _provider(fake, pool[1], tmp_path)
    with pytest.raises(ProviderError, match="NoStock"):
        p.create(NodeSpec(nodes=1))
    assert {r.kind for r in f.live()} == {"vpc", "vswitch", "sg", "keypair"}
    p.destroy()
    assert f.live() == []


def test_destroy_finds_resources_the_ledger_missed_by_tag(fake: tuple[FakeAliyun, str],
                                                          pool: tuple[list[str], int], tmp_path: Path) -> None:
    f, _ = fake
    p = _provider(fake, pool[1], tmp_path, build_id="lost")
    p.create(NodeSpec())
    (tmp_path / "state" / "infra" / "lost.json").unlink()  # as if the process died before writing its ledger
    again = _provider(fake, pool[1], tmp_path, build_id="lost")
    other = _provider(fake, pool[1], tmp_path / "other", build_id="someone-else")
    assert {b for _, _, b in other.tagged()} == {"lost"}
    again.destroy()
    assert f.live() == []


def test_running_instance_needs_force_and_dependencies_hold(fake: tuple[FakeAliyun, str],
                                                            pool: tuple[list[str], int], tmp_path: Path) -> None:
    """The fake enforces the documented rules, so the provider's teardown order is really tested."""
    p = _provider(fake, pool[1], tmp_path)
    p.create(NodeSpec())
    vpc = p.ledger.ids("vpc")[0]
    with pytest.raises(ProviderError, match="DependencyViolation"):
        p.call("vpc", "DeleteVpc", {"VpcId": vpc})
    inst = p.ledger.ids("instance")
    with pytest.raises(ProviderError, match="IncorrectInstanceStatus"):
        p.call("ecs", "DeleteInstances", {"InstanceId": inst})
    p.destroy()


CRASHER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sealer.infra.providers import NodeSpec
    from sealer.infra.providers.aliyun import AliyunCredentials, AliyunProvider, AliyunSettings
    endpoint, port, state, stop_after = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    s = AliyunSettings(region="cn-test-1", ecs_endpoint=endpoint, vpc_endpoint=endpoint, protocol="http",
                       ssh_port=port, poll_interval=0.05, timeout=30, internet_max_bandwidth_out=0)
    p = AliyunProvider(AliyunCredentials(sys.argv[5], sys.argv[6]), s, build_id="crashed", state_dir=state)
    try:
        orig = p.call
        def call(service, action, params):
            out = orig(service, action, params)
            if action == stop_after:
                print("READY", flush=True)
                time.sleep(60)
            return out
        p.call = call
        p.create(NodeSpec(nodes=1))
    finally:
        if "--cleanup" in sys.argv:
            p.call = orig
            p.destroy()
            print("CLEANED", flush=True)
""")


def _run_crasher(fake: tuple[FakeAliyun, str], port: int, state: Path, stop_after: str,
                 *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, fake[1], str(port), str(state), stop_after, AK, SECRET,
                             *extra], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", line
    return proc


def test_kill9_mid_create_leaves_a_ledger_the_next_run_reports(fake: tuple[FakeAliyun, str],
                                                              pool: tuple[list[str], int], tmp_path: Path) -> None:
    f, _ = fake
    state = tmp_path / "state"
    proc = _run_crasher(fake, pool[1], state, "RunInstances")
    proc.kill()
    proc.wait()
    stale = stale_ledgers(state / "infra")
    assert [s.build_id for s in stale] == ["crashed"]
    # killed after RunInstances answered, before the ledger write: the instances are only findable by tag
    assert {r["kind"] for r in stale[0].resources} == {"vpc", "vswitch", "security-group", "key-pair"}
    assert len(f.live("instance")) == 2
    _provider(fake, pool[1], tmp_path, build_id="crashed").destroy()
    assert f.live() == [] and stale_ledgers(state / "infra") == []


def test_sigint_mid_create_still_deletes_everything(fake: tuple[FakeAliyun, str], pool: tuple[list[str], int],
                                                    tmp_path: Path) -> None:
    f, _ = fake
    proc = _run_crasher(fake, pool[1], tmp_path / "state", "CreateSecurityGroup", "--cleanup")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "CLEANED" in out
    assert proc.returncode != 0
    assert f.live() == []


def test_ledger_is_valid_json_at_every_step(fake: tuple[FakeAliyun, str], pool: tuple[list[str], int],
                                            tmp_path: Path) -> None:
    """A reader polling the ledger while a build creates resources never sees a torn file."""
    path = tmp_path / "state" / "infra" / "b1.json"
    seen: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            if path.exists():
                seen.append(len(json.loads(path.read_text())["resources"]))
            time.sleep(0.001)

    t = threading.Thread(target=poll)
    t.start()
    p = _provider(fake, pool[1], tmp_path)
    try:
        p.create(NodeSpec())
    finally:
        stop.set()
        t.join()
        p.destroy()
    assert seen and max(seen) == 5
