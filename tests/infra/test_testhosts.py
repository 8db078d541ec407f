"""The test-host fixture itself: separate hosts, each with its own files, and nothing left behind."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.testhosts import LOCK_DIR, TestHostFactory, missing_requirements, pids_in_namespace

from sealer.infra import SSHConfig, connect, connect_all

REPO = Path(__file__).resolve().parents[2]


def _listening(address: str) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((address, 22)) == 0


def _assert_freed(address: str) -> None:
    """Nothing listens at ``address`` of a pool that has stopped and released its address block. The freed block
    may already be taken by another pool (a parallel xdist worker) whose own host serves the same address: so look
    while holding the block's lock; when another pool holds it, the address is that pool's now (callers check
    that their own processes are gone)."""
    fd = os.open(LOCK_DIR / f"block-{address.split('.')[2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return
    try:
        assert not _listening(address), f"{address} still listens after its pool stopped"
    finally:
        os.close(fd)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_three_hosts_are_separate_and_stop_cleanly(test_hosts: TestHostFactory) -> None:
    hosts = test_hosts(3)
    assert len({h.address for h in hosts}) == 3
    for h in hosts:  # each host's /etc/hosts is its own
        h.exec(f"echo '10.9.9.9 only-{h.hostname}' >> /etc/hosts")
    machine_hosts = Path("/etc/hosts").read_text()
    assert "only-host" not in machine_hosts

    async def look() -> dict[str, str]:
        conns = await connect_all([h.address for h in hosts], hosts[0].ssh_config)
        try:
            out = {}
            for addr, c in conns.items():
                r = await c.run("hostname; grep only- /etc/hosts; ls /etc/containerd | wc -l")
                out[addr] = r.stdout
            return out
        finally:
            for c in conns.values():
                await c.close()

    seen = asyncio.run(look())
    for h in hosts:
        lines = seen[h.address].split()
        assert lines[0] == h.hostname
        assert f"only-{h.hostname}" in seen[h.address]
        assert [x for x in seen[h.address].split() if x.startswith("only-")] == [f"only-{h.hostname}"]
        assert lines[-1] == "0"  # the fixture writes nothing into /etc/containerd
    # something started over SSH (re-parented, outlives the session) is stopped with its host
    hosts[1].exec("nohup sleep 4321 >/dev/null 2>&1 &")
    # the background child may not have exec'd sleep yet when exec returns: poll, generous deadline
    deadline = time.monotonic() + 20
    while not any("sleep 4321" in p for p in hosts[1].processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any("sleep 4321" in p for p in hosts[1].processes())
    pids = [p for h in hosts for p in h.pids()]
    assert len(pids) >= 7  # holders, sshds, the sleep
    leftovers = test_hosts.stop_all()
    assert leftovers == []
    assert not [p for p in pids if Path(f"/proc/{p}").exists() and _state(p) != "Z"]
    for h in hosts:
        assert not _listening(h.address)


def test_overlays_keep_installs_private(test_hosts: TestHostFactory) -> None:
    (h,) = test_hosts(1)
    h.exec("echo x > /usr/local/bin/sealer-th-probe && mkdir -p /root/.kube && echo y > /root/.kube/probe")
    assert h.read("/usr/local/bin/sealer-th-probe") == "x\n"
    assert not Path("/usr/local/bin/sealer-th-probe").exists()
    assert not Path("/root/.kube/probe").exists()
    h.exec("echo z > /var/lib/sealer/probe")
    assert (h.dir / "sealer" / "probe").read_text() == "z\n"
    assert not Path("/var/lib/sealer/probe").exists()


def test_stop_and_restart_sshd(test_hosts: TestHostFactory) -> None:
    (h,) = test_hosts(1)
    h.exec("nohup sleep 4322 >/dev/null 2>&1 &")
    h.stop_sshd()
    assert not _listening(h.address)
    assert any("sleep 4322" in p for p in h.processes())  # the host's other processes live on
    h.start_sshd()
    assert _listening(h.address)


def test_script_start_stop(tmp_path: Path) -> None:
    if missing_requirements():
        pytest.skip(missing_requirements() or "")
    d = tmp_path / "th"
    d.mkdir()
    script = str(REPO / "tests" / "helpers" / "testhosts.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, script, "start", "--count", "2", "--dir", str(d)], capture_output=True,
                         text=True, check=True, env=env, timeout=60)
    import json

    state = json.loads(out.stdout)
    pids = [p for h in state["hosts"] for p in pids_in_namespace(h["namespace"])]
    assert len(pids) >= 4
    try:
        assert len(state["addresses"]) == 2 and Path(state["client_key"]).exists()
        assert all(_listening(a) for a in state["addresses"])
    finally:
        subprocess.run([sys.executable, script, "stop", "--dir", str(d)], check=True, env=env, timeout=60)
    for a in state["addresses"]:
        _assert_freed(a)
    assert not [p for p in pids if _state(p) not in ("gone", "Z")]


def test_missing_tools_skip_locally_and_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from helpers import testhosts

    real_which = shutil.which
    monkeypatch.setattr(testhosts.shutil, "which", lambda t: None if t == "containerd" else real_which(t))
    assert testhosts.missing_requirements() is None or os.geteuid() != 0
    why = testhosts.missing_requirements(containerd=True)
    assert why is not None and "'containerd'" in why
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and .*containerd"):
        testhosts.requirement_or_skip(containerd=True)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="containerd"):
        testhosts.requirement_or_skip(containerd=True)


def test_restart_in_the_same_directory(tmp_path: Path) -> None:
    """The demo script may start hosts again in a directory it used before: new host keys, fresh known_hosts."""
    if missing_requirements():
        pytest.skip(missing_requirements() or "")
    from helpers.testhosts import HostPool

    for _ in range(2):
        pool = HostPool(tmp_path / "pool")
        try:
            (h,) = pool.start(1)

            async def check(addr: str = h.address, cfg: SSHConfig = h.ssh_config) -> str:
                host = await connect(addr, cfg)
                try:
                    return (await host.run("hostname")).stdout.strip()
                finally:
                    await host.close()

            assert asyncio.run(check()) == "host2"
        finally:
            assert pool.stop() == []


def test_hosts_die_with_an_interpreter_that_forgot_them(tmp_path: Path) -> None:
    if missing_requirements():
        pytest.skip(missing_requirements() or "")
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO / 'tests')!r})\n"
        "from pathlib import Path\n"
        "from helpers.testhosts import HostPool\n"
        f"pool = HostPool(Path({str(tmp_path / 'p')!r}))\n"
        "hosts = pool.start(1)\n"
        "print(json.dumps([hosts[0].address, hosts[0].pids()]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    import json

    address, pids = json.loads(out.stdout)
    assert len(pids) >= 2
    assert not [p for p in pids if _state(p) not in ("gone", "Z")]
    _assert_freed(address)
