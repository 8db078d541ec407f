"""The Host interface, connecting to many hosts at once, and per-host fan-out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from sealer.infra.errors import HostsUnreachable, HostUnreachable
from sealer.infra.execution import StdinSource
from sealer.infra.local import LocalHost
from sealer.infra.localaddrs import is_local_address
from sealer.infra.model import ExecResult, SSHConfig
from sealer.infra.ssh import SSHHost

log = logging.getLogger(__name__)
T = TypeVar("T")


@runtime_checkable
class Host(Protocol):
    """A machine sealer delivers to. Over SSH (:class:`SSHHost`) or this machine itself (:class:`LocalHost`).

    ``run`` executes ``command`` with ``bash`` (``set -o pipefail``) in its own process group; ``env`` is
    exported first. Neither the command nor ``env`` appear on the host's process list (the script goes
    through stdin); a secret that a program needs must still reach that program through ``input``, a file or
    ``env``, not its arguments. ``secrets`` (and the SSH passwords) are replaced by ``***`` in the result,
    in ``on_line`` lines and in errors. ``on_line(stream, line)`` gets each line as it arrives ("stdout" or
    "stderr"). ``on_stdout(chunk)`` takes the raw stdout instead (binary data, e.g. a tar stream, as it
    arrives; the result's ``stdout`` is then empty). A non-zero exit raises :class:`HostCommandError` when ``check``; a timeout always does, after
    killing the command; cancelling the awaiting task (Ctrl-C) kills it too.
    """

    address: str
    is_local: bool

    async def run(self, command: str, *, env: Mapping[str, str] | None = None, timeout: float | None = None,
                  check: bool = True, input: StdinSource = None,
                  on_line: Callable[[str, str], None] | None = None,
                  secrets: Sequence[str] = (), on_stdout: Callable[[bytes], object] | None = None) -> ExecResult: ...

    async def put_bytes(self, data: bytes, path: str, *, mode: int = 0o644) -> None:
        """Write ``path`` atomically (temporary file + rename in its directory), creating parents."""

    async def put_file(self, local: Path, path: str, *, mode: int | None = None) -> None:
        """Copy a local file atomically; ``mode`` None keeps the local file's mode."""

    async def put_tree(self, local_dir: Path, remote_dir: str, *, files: Sequence[str] | None = None,
                       compress: bool = True, on_bytes: Callable[[int], None] | None = None) -> None:
        """Stream one tar of ``local_dir`` (or only ``files``, relative paths) into ``tar -x`` under
        ``remote_dir`` on the host over one channel, gzip (isal) when ``compress``. Symlinks, modes,
        mtimes and empty directories are kept; files become the SSH user's. ``on_bytes(n)`` reports
        uncompressed tar bytes as they are produced. The tree is never held in memory."""

    async def read_file(self, path: str) -> bytes | None:
        """The file's bytes, None when it does not exist."""

    async def remove(self, path: str) -> None:
        """``rm -rf`` ``path``; ValueError for "" and "/"."""

    async def close(self) -> None: ...


async def connect(address: str, ssh: SSHConfig) -> Host:
    """A :class:`LocalHost` when ``address`` is exactly an address of one of this machine's interfaces
    (``127.0.0.1`` is, ``127.0.0.2`` is not), else an SSH connection. Raises :class:`HostUnreachable`
    (refused, timed out after ``ssh.connect_timeout``, authentication failed, host key changed)."""
    if is_local_address(address):
        log.debug("%s: this machine, no SSH", address)
        return LocalHost(address)
    return await SSHHost.open(address, ssh)


async def connect_all(addresses: Sequence[str], ssh: SSHConfig) -> dict[str, Host]:
    """Connect to every address in parallel. If any fails, the others are closed and one
    :class:`HostUnreachable` names every host that failed (:class:`HostsUnreachable` with ``errors`` when
    there are several)."""
    unique = list(dict.fromkeys(addresses))
    results = await asyncio.gather(*(connect(a, ssh) for a in unique), return_exceptions=True)
    hosts: dict[str, Host] = {}
    failed: dict[str, HostUnreachable] = {}
    other: BaseException | None = None
    for address, r in zip(unique, results, strict=True):
        if isinstance(r, HostUnreachable):
            failed[address] = r
        elif isinstance(r, BaseException):
            other = other or r
        else:
            hosts[address] = r
    if failed or other is not None:
        await asyncio.gather(*(h.close() for h in hosts.values()), return_exceptions=True)
        if other is not None:
            raise other
        if len(failed) == 1:
            raise next(iter(failed.values()))
        raise HostsUnreachable(failed)
    return hosts


async def fan_out(hosts: Sequence[Host], fn: Callable[[Host], Awaitable[T]], *,
                  limit: int = 32) -> dict[str, T | BaseException]:
    """Run ``fn`` on every host, at most ``limit`` at a time; each host's value or the exception it raised,
    by address. Cancelling the caller cancels every host's work (and so kills their remote commands)."""
    sem = asyncio.Semaphore(limit)

    async def one(host: Host) -> T:
        async with sem:
            return await fn(host)

    results = await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
    return {h.address: r for h, r in zip(hosts, results, strict=True)}


async def close_all(hosts: Mapping[str, Host] | Sequence[Host]) -> None:
    """Close every host, ignoring errors."""
    values = list(hosts.values()) if isinstance(hosts, Mapping) else list(hosts)
    await asyncio.gather(*(h.close() for h in values), return_exceptions=True)
