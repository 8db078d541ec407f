"""Host file operations against real test hosts: atomic writes, modes, reads, removal, tree streaming."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from pathlib import Path

import pytest
from helpers.testhosts import TestHost, TestHostFactory

from infra.util import with_host
from sealer.infra import Host, HostCommandError, HostError, LocalTarError, SSHConfig, connect


def test_put_bytes_atomic_mode_and_parents(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    target = "/var/lib/sealer/t/deep/er/file.conf"

    async def go(h: Host) -> tuple[bytes | None, bytes | None]:
        await h.put_bytes(b"old\n", target, mode=0o600)
        # a reader holding the old file keeps reading the old content: the new file is renamed over it
        th.exec(f"nohup sh -c 'exec 3<{target}; sleep 2; cat <&3 > /var/lib/sealer/t/seen' >/dev/null 2>&1 &")
        await h.put_bytes(b"new content\n", target, mode=0o755)
        return await h.read_file(target), await h.read_file("/var/lib/sealer/t/missing")

    got, missing = with_host(th, go)
    assert got == b"new content\n" and missing is None
    assert th.exec(f"stat -c %a {target}").stdout.strip() == "755"
    assert th.exec("ls -A /var/lib/sealer/t/deep/er").stdout.split() == ["file.conf"]  # no temporary left
    assert th.exec("sleep 2.5; cat /var/lib/sealer/t/seen").stdout == "old\n"
    # written in the host's own /var/lib/sealer, not the machine's
    assert (th.dir / "sealer" / "t" / "deep" / "er" / "file.conf").read_bytes() == b"new content\n"


def test_put_file_keeps_or_sets_mode(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    src = tmp_path / "tool"
    data = os.urandom(2 << 20)
    src.write_bytes(data)
    src.chmod(0o750)

    async def go(h: Host) -> None:
        await h.put_file(src, "/var/lib/sealer/bin/tool")
        await h.put_file(src, "/var/lib/sealer/bin/tool.ro", mode=0o444)

    with_host(th, go)
    assert th.exec("stat -c %a /var/lib/sealer/bin/tool /var/lib/sealer/bin/tool.ro").stdout.split() == [
        "750", "444"]
    assert th.exec("sha256sum < /var/lib/sealer/bin/tool").stdout.split()[0] == hashlib.sha256(data).hexdigest()


def test_write_errors_name_host_and_path(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    th.exec("mkdir -p /var/lib/sealer/ro && echo x > /var/lib/sealer/ro/file")

    async def go(h: Host) -> str:
        with pytest.raises(HostError) as e:
            await h.put_bytes(b"x", "/var/lib/sealer/ro/file/below")  # a file as parent directory
        return str(e.value)

    msg = with_host(th, go)
    assert msg.startswith(f"{th.address}: write /var/lib/sealer/ro/file/below")


def test_remove(test_hosts: TestHostFactory) -> None:
    (th,) = test_hosts(1)
    th.exec("mkdir -p /var/lib/sealer/gone/a/b && touch /var/lib/sealer/gone/a/b/c /var/lib/sealer/keep")

    async def go(h: Host) -> None:
        await h.remove("/var/lib/sealer/gone")
        await h.remove("/var/lib/sealer/never-was")  # idempotent
        for bad in ("", "/", "//", "/./", " "):
            with pytest.raises(ValueError, match="refusing"):
                await h.remove(bad)

    with_host(th, go)
    assert th.exec("ls -A /var/lib/sealer").stdout.split() == ["keep"]


def _make_tree(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (root / "bin" / "tool").chmod(0o755)
    (root / "etc").mkdir()
    (root / "etc" / "secret.conf").write_text("k=v\n")
    (root / "etc" / "secret.conf").chmod(0o600)
    (root / "etc" / "sub dir with spaces").mkdir()
    (root / "etc" / "sub dir with spaces" / "ü-名前.txt").write_text("unicode\n")
    (root / "empty" / "nested-empty").mkdir(parents=True)
    (root / "empty").chmod(0o700)
    (root / "registry" / "blobs").mkdir(parents=True)
    (root / "registry" / "blobs" / "big").write_bytes(os.urandom(3 << 20) + b"\0" * (2 << 20))
    (root / "link-rel").symlink_to("bin/tool")
    (root / "link-abs").symlink_to("/etc/os-release")
    (root / "link-dangling").symlink_to("does/not/exist")
    (root / "bin" / "tool-hard").hardlink_to(root / "bin" / "tool")
    (root / "exec-only").write_bytes(b"x")
    (root / "exec-only").chmod(0o4711)


def _local_listing(root: Path, only: set[str] | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if only is not None and rel not in only:
                continue
            st = p.lstat()
            mode = f"{stat.S_IMODE(st.st_mode):o}"
            if stat.S_ISLNK(st.st_mode):
                out[rel] = f"l {os.readlink(p)}"
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = f"d {mode}"
            else:
                out[rel] = f"f {mode} {st.st_size} {hashlib.sha256(p.read_bytes()).hexdigest()}"
    return out


def _remote_listing(th: TestHost, root: str) -> dict[str, str]:
    """The same listing, computed inside the host's namespace by find/sha256sum (not by our code)."""
    script = (f"cd {root} && find . -mindepth 1 -printf '%P\\0%y\\0%m\\0%s\\0%l\\0' && echo && "
              "find . -type f -printf '%P\\0' | xargs -0 -r sha256sum -z")
    out = th.exec(script).stdout
    entries, sums = out.split("\n", 1)
    digests = {}
    for rec in sums.split("\0"):
        if rec.strip():
            digest, name = rec.split("  ", 1)
            digests[name] = digest
    fields = entries.split("\0")
    listing = {}
    for i in range(0, len(fields) - 1, 5):
        name, kind, mode, size, target = fields[i:i + 5]
        if kind == "l":
            listing[name] = f"l {target}"
        elif kind == "d":
            listing[name] = f"d {mode}"
        else:
            listing[name] = f"f {mode} {size} {digests[name]}"
    return listing


@pytest.mark.parametrize("compress", [True, False])
def test_put_tree_round_trip(test_hosts: TestHostFactory, tmp_path: Path, compress: bool) -> None:
    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)
    seen: list[int] = []

    async def go(h: Host) -> None:
        await h.put_tree(src, "/var/lib/sealer/data/c1/rootfs", compress=compress, on_bytes=seen.append)

    with_host(th, go)
    local = _local_listing(src)
    assert len(local) == 16 and local["link-dangling"] == "l does/not/exist" and local["exec-only"].startswith("f 4711")
    assert _remote_listing(th, "/var/lib/sealer/data/c1/rootfs") == local
    assert th.exec("stat -c %i /var/lib/sealer/data/c1/rootfs/bin/tool "
                   "/var/lib/sealer/data/c1/rootfs/bin/tool-hard | uniq | wc -l").stdout.strip() == "1"
    assert sum(seen) >= 5 << 20  # progress counts the tar bytes


def test_put_tree_only_some_files(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)
    files = ["bin/tool", "etc/sub dir with spaces/ü-名前.txt", "link-rel", "empty"]

    async def go(h: Host) -> None:
        await h.put_tree(src, "/var/lib/sealer/partial", files=files)

    with_host(th, go)
    remote = _remote_listing(th, "/var/lib/sealer/partial")
    local = _local_listing(src, set(files))
    assert {k: v for k, v in remote.items() if k in files} == local
    assert "registry/blobs/big" not in remote and "etc/secret.conf" not in remote


def test_put_tree_failure_reports_tar_error(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)
    th.exec("echo x > /var/lib/sealer/a-file")

    async def go(h: Host) -> HostCommandError:
        with pytest.raises(HostCommandError) as e:
            await h.put_tree(src, "/var/lib/sealer/a-file/rootfs")
        assert (await h.run("echo still usable")).stdout == "still usable\n"
        return e.value

    err = with_host(th, go)
    assert str(err).startswith(f"{th.address}: command failed")
    assert "Not a directory" in str(err) or "File exists" in str(err)


def test_put_tree_local_failure_stops_and_names_it(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)

    async def go(h: Host) -> LocalTarError:
        with pytest.raises(LocalTarError) as e:
            await h.put_tree(src, "/var/lib/sealer/lt", files=["bin/tool", "vanished-file"])
        assert (await h.run("echo still usable")).stdout == "still usable\n"
        return e.value

    err = with_host(th, go)
    assert f"tar of {src} failed" in str(err) and "vanished-file" in str(err)
    assert not any(p.startswith("tar ") for p in th.processes())


def test_put_tree_to_this_machine(tmp_path: Path) -> None:
    src = tmp_path / "rootfs"
    _make_tree(src)

    async def go() -> None:
        h = await connect("127.0.0.1", SSHConfig())
        try:
            assert h.is_local
            await h.put_tree(src, str(tmp_path / "copy"))
            await h.put_bytes(b"v", str(tmp_path / "copy" / "new" / "file"), mode=0o640)
            assert await h.read_file(str(tmp_path / "copy" / "new" / "file")) == b"v"
            await h.remove(str(tmp_path / "copy" / "new"))
        finally:
            await h.close()

    asyncio.run(go())
    assert _local_listing(tmp_path / "copy") == _local_listing(src)


def test_put_tree_uncompressed_goes_through_openssh(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    """Key logins copy trees with the OpenSSH client (same known_hosts and key): same result as asyncssh; a
    remote tar failure is a HostCommandError naming the host."""
    from sealer.infra.ssh import SSHHost

    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)
    th.exec("echo x > /var/lib/sealer/a-file")

    async def go(h: Host) -> tuple[str, HostCommandError]:
        assert isinstance(h, SSHHost)
        await h.put_tree(src, "/var/lib/sealer/data/c2/rootfs", compress=False)
        await h.put_tree(src, "/var/lib/sealer/partial", files=["bin/tool", "link-rel", "empty"], compress=False)
        with pytest.raises(HostCommandError) as e:
            await h.put_tree(src, "/var/lib/sealer/a-file/rootfs", compress=False)
        return h.bulk_transport, e.value

    transport, err = with_host(th, go)
    assert transport == "openssh"
    assert _remote_listing(th, "/var/lib/sealer/data/c2/rootfs") == _local_listing(src)
    remote = _remote_listing(th, "/var/lib/sealer/partial")
    assert {k: v for k, v in remote.items() if k in {"bin/tool", "link-rel", "empty"}} == _local_listing(
        src, {"bin/tool", "link-rel", "empty"})
    assert str(err).startswith(f"{th.address}: command failed")
    assert "Not a directory" in str(err) or "File exists" in str(err)


def test_put_tree_falls_back_to_asyncssh_when_ssh_cannot_connect(test_hosts: TestHostFactory, tmp_path: Path) -> None:
    """`ssh` refuses a host whose key is not in sealer's known_hosts (StrictHostKeyChecking yes, never a
    prompt): the copy goes over the asyncssh connection instead; password logins never try `ssh`."""
    from sealer.infra import bulk
    from sealer.infra.ssh import SSHHost

    (th,) = test_hosts(1)
    src = tmp_path / "rootfs"
    _make_tree(src)
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")

    async def direct() -> None:
        with pytest.raises(bulk.TransportFailed):
            await bulk.put_tree_openssh(th.address, th.ssh_config, empty, src, "/var/lib/sealer/never", None)
    asyncio.run(direct())

    async def go(h: Host) -> str:
        assert isinstance(h, SSHHost) and h.bulk_transport == "openssh"
        th.ssh_config.known_hosts.write_text("")  # type: ignore[union-attr]  # forget the key after connecting
        await h.put_tree(src, "/var/lib/sealer/data/c3/rootfs", compress=False)
        return h.bulk_transport

    assert with_host(th, go) == "asyncssh"
    assert _remote_listing(th, "/var/lib/sealer/data/c3/rootfs") == _local_listing(src)
    assert th.exec("test -e /var/lib/sealer/never", check=False).returncode != 0
    assert not bulk.usable(SSHConfig(password="x", pkey=None)) and not bulk.usable(
        SSHConfig(pkey=tmp_path / "k", pkey_password="p"))
