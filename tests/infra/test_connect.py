"""Connecting: fast failures naming host and reason, key and password auth, known-hosts policy, fan-out."""

from __future__ import annotations

import asyncio
import logging
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.testhosts import TestHostFactory

from infra.util import with_host
from sealer.infra import (
    ExecResult,
    Host,
    HostAuthFailed,
    HostCommandError,
    HostKeyChanged,
    HostsUnreachable,
    HostUnreachable,
    SSHConfig,
    connect,
    connect_all,
    fan_out,
    is_local_address,
)


def test_unreachable_fails_fast_naming_host_and_reason(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    nowhere = test_hosts.unused_address()
    t0 = time.monotonic()
    with pytest.raises(HostUnreachable) as e:
        asyncio.run(connect(nowhere, th.ssh_config))
    assert time.monotonic() - t0 < 3
    assert str(e.value) == f"{nowhere}: cannot connect: connection refused (nothing listens on port 22)"
    assert e.value.host == nowhere


def test_connect_timeout(test_hosts: TestHostFactory) -> None:
    """A port that accepts TCP but never speaks SSH: fails after connect_timeout."""
    import socket

    (th,) = test_hosts(1)
    srv = socket.socket()
    srv.bind((test_hosts.unused_address(), 2222))
    srv.listen(1)
    try:
        cfg = replace(th.ssh_config, port=2222, connect_timeout=1.0)
        t0 = time.monotonic()
        with pytest.raises(HostUnreachable, match=r"cannot connect: timed out after 1 s \(port 2222\)"):
            asyncio.run(connect(test_hosts.unused_address(), cfg))
        assert time.monotonic() - t0 < 3
    finally:
        srv.close()


def test_connect_all_lists_every_unreachable_host(test_hosts: TestHostFactory) -> None:
    hosts = test_hosts(3)
    hosts[1].stop_sshd()
    hosts[2].stop_sshd()
    with pytest.raises(HostsUnreachable) as e:
        asyncio.run(connect_all([h.address for h in hosts], hosts[0].ssh_config))
    msg = str(e.value)
    assert msg.startswith("cannot connect to 2 hosts:")
    assert f"{hosts[1].address}: cannot connect: connection refused" in msg
    assert f"{hosts[2].address}: cannot connect: connection refused" in msg
    assert hosts[0].address not in msg
    assert set(e.value.errors) == {hosts[1].address, hosts[2].address}
    hosts[2].start_sshd()
    with pytest.raises(HostUnreachable) as one:
        asyncio.run(connect_all([h.address for h in hosts], hosts[0].ssh_config))
    assert not isinstance(one.value, HostsUnreachable) and one.value.host == hosts[1].address


def test_wrong_key_refused(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(HostAuthFailed) as e:
        asyncio.run(connect(th.address, replace(th.ssh_config, pkey=other)))
    assert str(e.value) == f"{th.address}: cannot connect: authentication as 'root' with key {other} failed"
    with pytest.raises(HostUnreachable, match="cannot load private key"):
        asyncio.run(connect(th.address, replace(th.ssh_config, pkey=tmp_path / "missing")))


def test_encrypted_key_with_passphrase(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    key = tmp_path / "enc_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pk-pass-123", "-f", str(key)], check=True)
    th.exec(f"cat >> {test_hosts.pool.base / 'authorized_keys'}", input=key.with_suffix(".pub").read_text())
    cfg = replace(th.ssh_config, pkey=key, pkey_password="pk-pass-123")
    assert with_host(th, lambda h: h.run("echo ok"), cfg).stdout == "ok\n"
    with pytest.raises(HostUnreachable) as e:
        asyncio.run(connect(th.address, replace(cfg, pkey_password="wrong-pass")))
    assert "cannot load private key" in str(e.value) and "wrong-pass" not in str(e.value)


def test_trust_on_first_use_then_refuse_changed_key(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    kh = th.ssh_config.known_hosts
    assert kh is not None and not kh.exists()
    with_host(th, lambda h: h.run("true"))
    assert stat.S_IMODE(kh.stat().st_mode) == 0o600
    recorded = kh.read_text()
    pub = (th.dir / "ssh_host_ed25519_key.pub").read_text().split()
    assert recorded == f"{th.address} {pub[0]} {pub[1]}\n"
    with_host(th, lambda h: h.run("true"))  # same key: accepted, nothing added
    assert kh.read_text() == recorded
    # the host is "reinstalled": new host key
    th.stop_sshd()
    key = th.dir / "ssh_host_ed25519_key"
    key.unlink()
    key.with_suffix(".pub").unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    th.start_sshd()
    with pytest.raises(HostKeyChanged) as e:
        asyncio.run(connect(th.address, th.ssh_config))
    msg = str(e.value)
    assert msg.startswith(f"{th.address}: cannot connect: host key changed")
    assert f"{kh} line 1" in msg and "SHA256:" in msg
    assert kh.read_text() == recorded  # never overwritten


def test_default_known_hosts_under_home(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    cfg = replace(th.ssh_config, known_hosts=None)  # HOME is the test's tmp home (tests/conftest.py)
    with_host(th, lambda h: h.run("true"), cfg)
    default = Path.home() / ".sealer" / "known_hosts"
    assert default.read_text().startswith(f"{th.address} ssh-ed25519 ")
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert not (Path.home() / ".ssh").exists()


def test_password_auth_and_the_password_never_shows(test_hosts: TestHostFactory,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    (th,) = test_hosts(1)
    password = "Pw-7f3a9-very-secret"
    th.set_password("root", password)
    cfg = SSHConfig(password=password, known_hosts=th.ssh_config.known_hosts, connect_timeout=5)
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []

    async def go(h: Host) -> tuple[ExecResult, HostCommandError, str]:
        task = asyncio.create_task(h.run(f"sleep 2; echo the password is {password}",
                                         on_line=lambda s, line: lines.append(line)))
        await asyncio.sleep(1)
        ps = th.exec("ps -eww -o args").stdout
        r = await task
        with pytest.raises(HostCommandError) as e:
            await h.run(f"echo {password} >&2; exit 1")
        return r, e.value, ps

    r, err, ps = with_host(th, go, cfg)
    assert r.stdout == "the password is ***\n" and lines == ["the password is ***"]
    assert password not in r.command and password not in str(err) and password not in err.result.stderr
    assert password not in ps
    assert password not in caplog.text and password not in repr(cfg)
    assert password not in th.exec("cat /var/log/auth.log 2>/dev/null; true").stdout
    with pytest.raises(HostAuthFailed) as e:
        asyncio.run(connect(th.address, replace(cfg, password="wrong-one")))
    assert str(e.value) == f"{th.address}: cannot connect: authentication as 'root' with password failed"


def test_fan_out_with_one_host_down(test_hosts: TestHostFactory) -> None:
    hosts = test_hosts(3)

    async def go() -> dict[str, ExecResult | BaseException]:
        conns = await connect_all([h.address for h in hosts], hosts[0].ssh_config)
        try:
            hosts[1].stop()  # the host goes away with the connection open
            return await fan_out(list(conns.values()), lambda h: h.run("hostname"), limit=2)
        finally:
            for c in conns.values():
                await c.close()

    results = asyncio.run(go())
    assert list(results) == [h.address for h in hosts]
    r0, r1, r2 = (results[h.address] for h in hosts)
    assert isinstance(r0, ExecResult) and r0.stdout.strip() == hosts[0].hostname
    assert isinstance(r2, ExecResult) and r2.stdout.strip() == hosts[2].hostname
    assert isinstance(r1, HostUnreachable) and r1.host == hosts[1].address


def test_fan_out_limit_and_failures() -> None:
    """fan_out on this machine itself: per-host results, the limit holds."""
    running = 0
    peak = 0

    async def work(h: Host) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        if h.address == "x2":
            raise RuntimeError("boom")
        return len(h.address)

    class Fake:
        is_local = True

        def __init__(self, a: str) -> None:
            self.address = a

    hosts = [Fake(f"x{i}") for i in range(6)]
    res = asyncio.run(fan_out(hosts, work, limit=2))  # type: ignore[arg-type]
    assert peak == 2
    assert [type(v).__name__ for v in res.values()] == ["int", "int", "RuntimeError", "int", "int", "int"]


def test_local_addresses() -> None:
    assert is_local_address("127.0.0.1")
    assert not is_local_address("127.0.0.2")
    assert not is_local_address("192.0.2.250")
    assert not is_local_address("not-an-ip")
    own = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    for a in own:
        assert is_local_address(a), a
