"""A host reached over SSH (asyncssh): one connection per host, channels for commands, SFTP for files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import secrets as _secrets
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncssh

from sealer.infra import bulk
from sealer.infra.errors import HostAuthFailed, HostError, HostKeyChanged, HostUnreachable
from sealer.infra.execution import (
    READ_CHUNK,
    REMOTE_COMMAND,
    ConnectionLost,
    OnLine,
    OnStdout,
    Proc,
    Runner,
    StdinClosed,
    StdinSource,
    build_script,
    kill_group_script,
)
from sealer.infra.knownhosts import KnownHosts, default_known_hosts, host_pattern
from sealer.infra.local import put_tree_via
from sealer.infra.model import ExecResult, SSHConfig, redact
from sealer.infra.paths import checked_remove_path, split_target

log = logging.getLogger(__name__)
if logging.getLogger("asyncssh").level == logging.NOTSET:  # asyncssh logs every channel at INFO
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

_SSH_ERRORS = (asyncssh.Error, OSError)
MAX_COMMANDS = 8
# AES-GCM first: hardware AES through `cryptography` moves the most bytes per CPU second here; no SSH-level
# compression (put_tree compresses the stream itself, and most of a rootfs is compressed blobs)
ENCRYPTION_ALGS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                   "aes128-ctr", "aes256-ctr")


class _Client(asyncssh.SSHClient):
    """Checks the host key against our known_hosts before any credential is sent."""

    def __init__(self, known: KnownHosts, pattern: str) -> None:
        self._known = known
        self._pattern = pattern
        self.refused: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        offered = " ".join(key.export_public_key("openssh").decode().split()[:2])
        self.refused = self._known.check(self._pattern, offered)
        return self.refused is None


class _SSHProc:
    def __init__(self, p: asyncssh.SSHClientProcess[bytes]) -> None:
        self._p = p

    async def write(self, data: bytes) -> None:
        try:
            self._p.stdin.write(data)
            await self._p.stdin.drain()
        except _SSH_ERRORS as e:
            raise StdinClosed() from e

    def write_eof(self) -> None:
        with contextlib.suppress(*_SSH_ERRORS):
            self._p.stdin.write_eof()

    async def read_stdout(self) -> bytes:
        try:
            return await self._p.stdout.read(READ_CHUNK)
        except _SSH_ERRORS as e:
            raise ConnectionLost(str(e)) from e

    async def read_stderr(self) -> bytes:
        try:
            return await self._p.stderr.read(READ_CHUNK)
        except _SSH_ERRORS as e:
            raise ConnectionLost(str(e)) from e

    async def wait(self) -> int | None:
        try:
            done = await self._p.wait(check=False)
        except _SSH_ERRORS as e:
            raise ConnectionLost(str(e)) from e
        return done.returncode

    def exit_code(self) -> int | None:
        return self._p.returncode

    async def aclose(self) -> None:
        self._p.close()
        await self._p.wait_closed()


class SSHHost(Runner):
    """A remote host; create with :func:`sealer.infra.connect`."""

    is_local = False

    def __init__(self, address: str, conn: asyncssh.SSHClientConnection, secrets: Sequence[str],
                 ssh: SSHConfig | None = None, known_hosts: Path | None = None) -> None:
        self.address = address
        self._ssh = ssh
        self._known_hosts = known_hosts
        self._openssh = ssh is not None and known_hosts is not None and bulk.usable(ssh)
        self._conn = conn
        self._secrets = tuple(secrets)
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_lock = asyncio.Lock()
        # sshd allows 10 sessions per connection by default: 8 commands + SFTP + the kill of a cancelled one
        self._slots = asyncio.Semaphore(MAX_COMMANDS)

    def __repr__(self) -> str:
        return f"SSHHost({self.address!r})"

    @property
    def bulk_transport(self) -> str:
        """What ``put_tree`` without compression uses: ``openssh`` (the ``ssh`` client, :mod:`.bulk`) or
        ``asyncssh`` (password logins, encrypted keys, or after ``ssh`` failed to connect once)."""
        return "openssh" if self._openssh else "asyncssh"

    @classmethod
    async def open(cls, address: str, ssh: SSHConfig) -> SSHHost:
        known_path = ssh.known_hosts.expanduser() if ssh.known_hosts else default_known_hosts()
        known = KnownHosts(known_path)
        client = _Client(known, host_pattern(address, ssh.port))
        options: dict[str, Any] = {
            "port": ssh.port, "username": ssh.user, "known_hosts": lambda h, a, p: ([], [], []),
            "client_factory": lambda: client, "keepalive_interval": 30, "keepalive_count_max": 4,
            "preferred_auth": ("publickey", "keyboard-interactive", "password"),
            "encryption_algs": ENCRYPTION_ALGS, "compression_algs": None,
        }
        if ssh.pkey is not None:
            try:
                key = asyncssh.read_private_key(str(ssh.pkey.expanduser()), ssh.pkey_password)
            except OSError as e:
                raise HostUnreachable(address, f"cannot load private key {ssh.pkey}: {e.strerror or e}") from None
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as e:
                raise HostUnreachable(
                    address, f"cannot load private key {ssh.pkey}: {redact(str(e), ssh.secrets)}") from None
            options["client_keys"] = [key]
            options["agent_path"] = None
        elif ssh.password is not None:
            options["client_keys"] = None
            options["agent_path"] = None
        if ssh.password is not None:
            options["password"] = ssh.password
        else:
            options["password"] = None
            options["kbdint_auth"] = False
        reason: str
        try:
            async with asyncio.timeout(ssh.connect_timeout):
                conn = await asyncssh.connect(address, **options)
            log.debug("%s: connected as %s", address, ssh.user)
            return cls(address, conn, ssh.secrets, ssh, known_path)
        except TimeoutError:
            reason = f"timed out after {ssh.connect_timeout:g} s (port {ssh.port})"
        except ConnectionRefusedError:
            reason = f"connection refused (nothing listens on port {ssh.port})"
        except asyncssh.HostKeyNotVerifiable as e:
            raise HostKeyChanged(address, client.refused or redact(str(e.reason), ssh.secrets)) from None
        except asyncssh.PermissionDenied:
            how = "key " + str(ssh.pkey) if ssh.pkey else ("password" if ssh.password else "default keys/agent")
            raise HostAuthFailed(address, f"authentication as {ssh.user!r} with {how} failed") from None
        except asyncssh.Error as e:
            reason = redact(str(e.reason), ssh.secrets)
        except OSError as e:
            reason = e.strerror or str(e)
        except ValueError as e:  # asyncssh raises it for unreadable key files and bad options
            reason = redact(str(e), ssh.secrets)
        raise HostUnreachable(address, reason)

    # -- commands --------------------------------------------------------------------------------

    async def _spawn(self) -> Proc:
        try:
            p = await self._conn.create_process(REMOTE_COMMAND, encoding=None)
        except _SSH_ERRORS as e:
            raise HostUnreachable(self.address, f"cannot open a session: {e}") from None
        return _SSHProc(p)

    async def _kill_group(self, pgid: int) -> None:
        await self._conn.run(kill_group_script(pgid), check=False)

    async def run(self, command: str, *, env: Mapping[str, str] | None = None, timeout: float | None = None,
                  check: bool = True, input: StdinSource = None, on_line: OnLine | None = None,
                  secrets: Sequence[str] = (), on_stdout: OnStdout | None = None) -> ExecResult:
        return await self._execute(build_script(command, env), command, stdin=input, timeout=timeout,
                                   check=check, on_line=on_line, secrets=(*secrets, *self._secrets), on_stdout=on_stdout)

    # -- files -----------------------------------------------------------------------------------

    async def _client(self) -> asyncssh.SFTPClient:
        async with self._sftp_lock:
            if self._sftp is None:
                try:
                    self._sftp = await self._conn.start_sftp_client()
                except _SSH_ERRORS as e:
                    raise HostUnreachable(self.address, f"cannot start SFTP: {e}") from None
            return self._sftp

    async def _put(self, path: str, mode: int, write: Callable[[asyncssh.SFTPClient, str], Any]) -> None:
        parent, name = split_target(path)
        tmp = posixpath.join(parent, f".{name}.tmp-{_secrets.token_hex(4)}")
        sftp = await self._client()
        try:
            await sftp.makedirs(parent, exist_ok=True)
            await write(sftp, tmp)
            await sftp.chmod(tmp, mode)
            await sftp.posix_rename(tmp, path)
        except _SSH_ERRORS as e:
            with contextlib.suppress(*_SSH_ERRORS):
                await sftp.remove(tmp)
            reason = e.reason if isinstance(e, asyncssh.Error) else (e.strerror or str(e))
            raise HostError(self.address, f"{self.address}: write {path}: {reason}") from None

    async def put_bytes(self, data: bytes, path: str, *, mode: int = 0o644) -> None:
        async def write(sftp: asyncssh.SFTPClient, tmp: str) -> None:
            async with sftp.open(tmp, "wb", asyncssh.SFTPAttrs(permissions=0o600)) as f:
                await f.write(data)

        await self._put(path, mode, write)

    async def put_file(self, local: Path, path: str, *, mode: int | None = None) -> None:
        m = mode if mode is not None else os.stat(local).st_mode & 0o7777

        async def write(sftp: asyncssh.SFTPClient, tmp: str) -> None:
            await sftp.put(str(local), tmp)

        await self._put(path, m, write)

    async def put_tree(self, local_dir: Path, remote_dir: str, *, files: Sequence[str] | None = None,
                       compress: bool = True, on_bytes: Callable[[int], None] | None = None) -> None:
        if self._openssh and not compress and on_bytes is None:
            assert self._ssh is not None and self._known_hosts is not None and self._slots is not None
            try:
                async with self._slots:  # an SSH session of its own on the host, like a command
                    await bulk.put_tree_openssh(self.address, self._ssh, self._known_hosts, Path(local_dir),
                                                remote_dir, files)
                return
            except bulk.TransportFailed as e:
                log.warning("%s: OpenSSH client failed (%s); copying over asyncssh instead", self.address,
                            redact(str(e), self._secrets))
                self._openssh = False
        await put_tree_via(self, local_dir, remote_dir, files=files, compress=compress, on_bytes=on_bytes)

    async def read_file(self, path: str) -> bytes | None:
        sftp = await self._client()
        try:
            async with sftp.open(path, "rb") as f:
                data: bytes = await f.read()
                return data
        except asyncssh.SFTPNoSuchFile:
            return None
        except _SSH_ERRORS as e:
            reason = e.reason if isinstance(e, asyncssh.Error) else (e.strerror or str(e))
            raise HostError(self.address, f"{self.address}: read {path}: {reason}") from None

    async def remove(self, path: str) -> None:
        norm = checked_remove_path(path)
        await self.run(f"rm -rf -- {shlex.quote(norm)}")

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        self._conn.close()
        try:
            await asyncio.wait_for(self._conn.wait_closed(), 5)
        except (TimeoutError, *_SSH_ERRORS):
            pass
