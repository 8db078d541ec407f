"""Host.run against real test hosts: streamed output, exit codes, environment, stdin, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.testhosts import TestHost, TestHostFactory

from infra.util import wait_until, with_host
from sealer.infra import ExecResult, Host, HostCommandError, HostConnectionLost, HostUnreachable, connect

REPO = Path(__file__).resolve().parents[2]


def test_output_exit_code_and_streaming(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go(h: Host) -> tuple[ExecResult, list[tuple[float, str, str]], float]:
        lines: list[tuple[float, str, str]] = []
        t0 = time.monotonic()
        r = await h.run("echo one; echo warn >&2; sleep 1; printf 'two\\nthree'",
                        on_line=lambda s, line: lines.append((time.monotonic() - t0, s, line)))
        return r, lines, t0

    r, lines, _ = with_host(th, go)
    assert (r.host, r.exit_code, r.stdout, r.stderr) == (th.address, 0, "one\ntwo\nthree", "warn\n")
    assert r.duration >= 1
    assert [(s, line) for _, s, line in lines if s == "stdout"] == [("stdout", "one"), ("stdout", "two"),
                                                                   ("stdout", "three")]
    assert ("stderr", "warn") in [(s, line) for _, s, line in lines]
    first = next(t for t, _, line in lines if line == "one")
    last = next(t for t, _, line in lines if line == "two")
    assert last - first >= 0.9  # "one" arrived while the command still ran, not at the end


def test_exit_codes_pipefail_and_check(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go(h: Host) -> tuple[list[int], HostCommandError]:
        codes = [(await h.run(c, check=False)).exit_code
                 for c in ("true", "exit 7", "false | true", "true | false | true; echo after", "kill -9 $$")]
        with pytest.raises(HostCommandError) as e:
            await h.run("echo some context; echo the reason >&2; exit 3")
        return codes, e.value

    codes, err = with_host(th, go)
    assert codes[:4] == [0, 7, 1, 0]
    assert codes[4] != 0
    msg = str(err)
    assert msg.startswith(f"{th.address}: command failed with exit code 3: echo some context")
    assert "the reason" in msg and err.result.exit_code == 3 and err.host == th.address


def test_environment_is_exported_and_quoted(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    tricky = "a b'c\"d $HOME `x` \\ ; \n second line ü"

    async def go(h: Host) -> str:
        r = await h.run('printf "%s|%s" "$TRICKY" "$EMPTY"; env | grep -c ^SEALER_T_', env={
            "TRICKY": tricky, "EMPTY": "", "SEALER_T_1": "1", "SEALER_T_2": "2"})
        with pytest.raises(ValueError, match="not valid"):
            await h.run("true", env={"BAD-NAME": "x"})
        return r.stdout

    out = with_host(th, go)
    assert out == f"{tricky}|2\n"


def test_stdin_and_large_binary_output(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    data = os.urandom(3 << 20)

    async def go(h: Host) -> tuple[str, str, int]:
        r1 = await h.run("sha256sum | cut -d' ' -f1", input=data)
        r2 = await h.run("head -c 5000000 /dev/zero | tr '\\0' 'x'; echo")
        r3 = await h.run("cat >/dev/null; wc -c </dev/stdin", input=b"")  # stdin at EOF, never blocks
        return r1.stdout.strip(), r2.stdout, int(r3.stdout)

    digest, big, empty = with_host(th, go)
    assert digest == hashlib.sha256(data).hexdigest()
    assert big == "x" * 5_000_000 + "\n"
    assert empty == 0


def test_script_and_environment_never_on_the_process_list(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    marker = "zq-not-in-ps-7731"

    async def go(h: Host) -> None:
        task = asyncio.create_task(h.run(f"X={marker}; sleep 3 && echo $X", env={"SEALER_VALUE": marker}))
        seen: list[str] = []

        def running() -> bool:
            seen[:] = [th.exec("ps -eww -o args").stdout]
            return "sleep 3" in seen[0]

        assert await asyncio.to_thread(wait_until, running)
        assert marker not in seen[0]
        assert (await task).stdout == f"{marker}\n"

    with_host(th, go)


def test_timeout_kills_the_command(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go(h: Host) -> tuple[HostCommandError, float]:
        t0 = time.monotonic()
        with pytest.raises(HostCommandError) as e:
            await h.run("echo started; sleep 1001 | cat; echo never", timeout=3)
        return e.value, time.monotonic() - t0

    err, took = with_host(th, go)
    assert took < 8
    assert str(err).startswith(f"{th.address}: command timed out after 3 s: echo started")
    assert err.result.exit_code == -1 and err.result.stdout == "started\n"
    assert wait_until(lambda: not any("sleep 1001" in p for p in th.processes()))


def _sleeps(th: TestHost, n: int) -> list[str]:
    return [p for p in th.processes() if f"sleep {n}" in p]


def test_cancel_kills_the_remote_command(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go(h: Host) -> None:
        task = asyncio.create_task(h.run("sleep 1000 & sleep 1002; wait"))
        assert await asyncio.to_thread(wait_until, lambda: len(_sleeps(th, 100)) == 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the connection still works afterwards
        assert (await h.run("echo ok")).stdout == "ok\n"

    with_host(th, go)
    assert wait_until(lambda: not _sleeps(th, 100))


def test_ctrl_c_kills_the_remote_command(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    script = tmp_path / "runner.py"
    script.write_text(
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from sealer.infra import SSHConfig, connect\n"
        "async def main():\n"
        f"    h = await connect({th.address!r}, SSHConfig(pkey=Path({str(th.ssh_config.pkey)!r}), "
        f"known_hosts=Path({str(th.ssh_config.known_hosts)!r})))\n"
        "    await h.run('sleep 1003', on_line=print)\n"
        "try:\n"
        "    asyncio.run(main())\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n")
    p = subprocess.Popen([sys.executable, str(script)], cwd=REPO)
    try:
        assert wait_until(lambda: bool(_sleeps(th, 1003)), 20)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=20) == 130
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert wait_until(lambda: not _sleeps(th, 1003))


def test_more_commands_at_once_than_sshd_sessions(test_hosts: TestHostFactory) -> None:
    """sshd allows 10 sessions per connection (MaxSessions default, kept by the test hosts): 25 at once
    still all run, queued on the host's command slots."""
    (th,) = test_hosts(1)

    async def go(h: Host) -> list[str]:
        rs = await asyncio.gather(*(h.run(f"sleep 0.3; echo {i}") for i in range(25)))
        return [r.stdout.strip() for r in rs]

    assert with_host(th, go) == [str(i) for i in range(25)]


def test_local_host_for_own_addresses(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go() -> tuple[Host, Host]:
        local = await connect("127.0.0.1", th.ssh_config)
        remote = await connect(th.address, th.ssh_config)
        try:
            r = await local.run("hostname; echo $V; cat", env={"V": "v"}, input=b"in")
            assert r.stdout.split() == [os.uname().nodename, "v", "in"]
            assert (await remote.run("hostname")).stdout.strip() == th.hostname
            t0 = time.monotonic()
            with pytest.raises(HostCommandError, match="timed out after 0.5 s"):
                await local.run("sleep 1004", timeout=0.5)
            assert time.monotonic() - t0 < 4
            return local, remote
        finally:
            await local.close()
            await remote.close()

    local, remote = asyncio.run(go())
    assert local.is_local and not remote.is_local
    assert wait_until(lambda: "sleep 1004" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                                 text=True).stdout)


def test_host_going_away_mid_command(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)

    async def go(h: Host) -> tuple[BaseException, float]:
        task = asyncio.create_task(h.run("echo started; sleep 600"))
        assert await asyncio.to_thread(wait_until, lambda: bool(_sleeps(th, 600)))
        t0 = time.monotonic()
        await asyncio.to_thread(th.stop)
        with pytest.raises(HostUnreachable) as e:
            await task
        return e.value, time.monotonic() - t0

    err, took = with_host(th, go)
    assert took < 10
    assert isinstance(err, HostConnectionLost)
    assert str(err).startswith(f"{th.address}: connection lost: while running 'echo started; sleep 600'")


def test_background_process_holding_the_output_does_not_hang_run(test_hosts: TestHostFactory) -> None:
    """`daemon &` without redirection keeps the channel's output open (plain ssh hangs on it); run returns
    shortly after the command itself exits, and the daemon keeps running."""
    (th,) = test_hosts(1)

    async def go(h: Host) -> list[tuple[str, float]]:
        out = []
        for host in (h, await connect("127.0.0.1", th.ssh_config)):
            t0 = time.monotonic()
            r = await host.run("sleep 1005 & echo bg", timeout=20)
            out.append((r.stdout, time.monotonic() - t0))
            t0 = time.monotonic()
            await host.run("true")
            out.append(("quick", time.monotonic() - t0))
        return out

    try:
        (bg_ssh, took_ssh), (_, quick_ssh), (bg_local, took_local), (_, quick_local) = with_host(th, go)
        assert bg_ssh == bg_local == "bg\n"
        assert took_ssh < 8 and took_local < 8
        assert quick_local < 1  # no grace delay when the output closes normally
        assert _sleeps(th, 1005)  # the background process was left running on the host
    finally:
        subprocess.run(["pkill", "-f", "sleep 100[5]"], check=False)  # same PID namespace as the hosts


def test_binary_stdout_streams_to_a_sink_byte_exact(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    """``on_stdout`` gets every byte (NULs, invalid UTF-8) as it arrives, over SSH and on this machine alike; a
    failing command still raises with its stderr."""
    (th,) = test_hosts(1)
    data = os.urandom(3 << 20) + b"\0\xff\xfe\n\r"
    src = tmp_path / "blob"
    src.write_bytes(data)

    async def go(h: Host) -> tuple[bytes, ExecResult, HostCommandError]:
        await h.put_file(src, "/tmp/sink-blob")
        got = bytearray()
        r = await h.run("cat /tmp/sink-blob", on_stdout=got.extend)
        with pytest.raises(HostCommandError) as e:
            await h.run("head -c 100 /tmp/sink-blob; echo broken >&2; exit 4", on_stdout=got.extend)
        await h.remove("/tmp/sink-blob")
        return bytes(got), r, e.value

    got, r, err = with_host(th, go)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data + data[:100]).hexdigest()
    assert r.stdout == "" and r.exit_code == 0
    assert err.result.exit_code == 4 and "broken" in err.result.stderr

    async def local() -> bytes:
        h = await connect("127.0.0.1", th.ssh_config)
        try:
            got = bytearray()
            await h.run(f"cat {src}", on_stdout=got.extend)
            return bytes(got)
        finally:
            await h.close()

    assert asyncio.run(local()) == data
