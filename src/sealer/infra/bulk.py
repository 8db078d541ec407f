"""Bulk tree copies through the OpenSSH client: ``tar -c | ssh HOST 'tar -x'``, C speed on both ends.

asyncssh moves a stream at a few hundred MB/s at best: every SSH packet costs Python work on the event loop.
For a tree copy sealer instead runs the local ``tar`` piped into an ``ssh`` process per stream (several at
once use every core), with the same host key policy and key as the asyncssh connection: the host key must
already be in sealer's known_hosts (the asyncssh connection recorded or checked it; ``StrictHostKeyChecking
yes``), the private key is the one of ``--pk``, no user configuration (``-F /dev/null``), no agent, batch mode
(never a prompt). Password logins and encrypted keys have no non-interactive OpenSSH form without exposing
the secret: they use the asyncssh path (:func:`usable` is False), as does a host where ``ssh`` itself fails
to connect (exit 255 before any byte was taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shlex
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from sealer.infra.errors import HostCommandError, HostError
from sealer.infra.model import ExecResult, SSHConfig
from sealer.infra.tarstream import BLOCKING_FACTOR, _checked, tar_command

log = logging.getLogger(__name__)
PIPE_BYTES = 1 << 20
CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"


class TransportFailed(Exception):
    """``ssh`` could not connect or authenticate (exit 255): use the asyncssh path."""


def usable(ssh: SSHConfig) -> bool:
    return (ssh.pkey is not None and ssh.password is None and ssh.pkey_password is None
            and shutil.which("ssh") is not None)


def ssh_argv(address: str, ssh: SSHConfig, known_hosts: Path, remote: str) -> list[str]:
    assert ssh.pkey is not None
    return ["ssh", "-F", "/dev/null", "-T", "-x", "-a", "-l", ssh.user, "-p", str(ssh.port),
            "-i", str(ssh.pkey.expanduser()), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "UpdateHostKeys=no", "-o", "Compression=no", "-o", f"Ciphers={CIPHERS}",
            "-o", f"ConnectTimeout={max(1, int(ssh.connect_timeout))}", "-o", "ServerAliveInterval=30",
            "-o", "LogLevel=ERROR", address, remote]


async def put_tree_openssh(address: str, ssh: SSHConfig, known_hosts: Path, local_dir: Path, remote_dir: str,
                           files: Sequence[str] | None) -> None:
    """One ``tar -c`` of ``local_dir`` (or ``files``) piped into ``ssh`` running ``tar -x`` in ``remote_dir``.
    Raises :class:`TransportFailed` when ssh could not connect, :class:`HostError` when a tar failed."""
    t = time.monotonic()
    d = shlex.quote(remote_dir)
    remote = f"mkdir -p -- {d} && exec tar -x -p --no-same-owner -b {BLOCKING_FACTOR} -f - -C {d}"
    listing = None if files is None else b"".join(p.encode() + b"\0" for p in _checked(local_dir, files))
    r, w = os.pipe()  # straight from tar to ssh: no byte passes through Python
    with contextlib.suppress(OSError, AttributeError):  # a pipe of a few records (Linux; 64 KiB otherwise)
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        tar = await asyncio.create_subprocess_exec(
            *tar_command(local_dir, files), stdin=asyncio.subprocess.PIPE if listing is not None else
            asyncio.subprocess.DEVNULL, stdout=w, stderr=asyncio.subprocess.PIPE)
        try:
            proc = await asyncio.create_subprocess_exec(
                *ssh_argv(address, ssh, known_hosts, remote), stdin=r, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
        except BaseException:
            tar.kill()
            await tar.wait()
            raise
    finally:
        os.close(r)
        os.close(w)
    try:
        if listing is not None:
            assert tar.stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                tar.stdin.write(listing)
                await tar.stdin.drain()
            tar.stdin.close()
        (_, tar_err), (_, ssh_err) = await asyncio.gather(tar.communicate(), proc.communicate())
    except BaseException:
        for p in (tar, proc):
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
        await asyncio.gather(tar.wait(), proc.wait(), return_exceptions=True)
        raise
    message = (ssh_err or b"").decode(errors="replace").strip()
    if proc.returncode == 255:
        raise TransportFailed(message[-500:] or "ssh exit 255")
    if proc.returncode != 0:
        display = f"tar -x into {remote_dir} (OpenSSH)"
        result = ExecResult(address, display, proc.returncode or -1, "", message[-4000:], time.monotonic() - t)
        raise HostCommandError(result)
    if tar.returncode != 0:
        raise HostError(address, f"{address}: local tar of {local_dir} failed (exit {tar.returncode}): "
                                 f"{(tar_err or b'').decode(errors='replace').strip()[-2000:]}")
    log.debug("%s: tree %s sent with OpenSSH", address, local_dir)
