"""The machine sealer runs on, as a host: commands run with bash directly, files are copied in place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets as _secrets
import shlex
import shutil
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sealer.infra.errors import HostError
from sealer.infra.execution import (
    BOOTSTRAP,
    KILL_GRACE,
    READ_CHUNK,
    OnLine,
    OnStdout,
    Proc,
    Runner,
    StdinClosed,
    StdinSource,
    build_script,
)
from sealer.infra.model import ExecResult
from sealer.infra.paths import checked_remove_path, split_target
from sealer.infra.tarstream import BLOCKING_FACTOR, tar_chunks

log = logging.getLogger(__name__)


class _LocalProc:
    def __init__(self, p: asyncio.subprocess.Process) -> None:
        self._p = p

    async def write(self, data: bytes) -> None:
        assert self._p.stdin is not None
        try:
            self._p.stdin.write(data)
            await self._p.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as e:
            raise StdinClosed() from e

    def write_eof(self) -> None:
        assert self._p.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._p.stdin.close()

    async def read_stdout(self) -> bytes:
        assert self._p.stdout is not None
        return await self._p.stdout.read(READ_CHUNK)

    async def read_stderr(self) -> bytes:
        assert self._p.stderr is not None
        return await self._p.stderr.read(READ_CHUNK)

    async def wait(self) -> int | None:
        return await self._p.wait()

    def exit_code(self) -> int | None:
        return self._p.returncode

    async def aclose(self) -> None:
        if self._p.stdin is not None and not self._p.stdin.is_closing():
            self._p.stdin.close()
        if self._p.returncode is None:  # its group was killed; collect it (wait() needs the pipes drained)
            for stream in (self._p.stdout, self._p.stderr):
                while stream is not None and await stream.read(READ_CHUNK):
                    pass
            await self._p.wait()
        else:  # exited; a background child may hold the pipes: close our ends (asyncio has no public call)
            transport = getattr(self._p, "_transport", None)
            if transport is not None:
                transport.close()


class LocalHost(Runner):
    """This machine (an address of one of its interfaces). Commands run as the current user."""

    is_local = True

    def __init__(self, address: str) -> None:
        self.address = address

    def __repr__(self) -> str:
        return f"LocalHost({self.address!r})"

    async def _spawn(self) -> Proc:
        p = await asyncio.create_subprocess_exec(
            "bash", "-c", BOOTSTRAP, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        return _LocalProc(p)

    async def _kill_group(self, pgid: int) -> None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(int(KILL_GRACE / 0.1)):
            await asyncio.sleep(0.1)
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    async def run(self, command: str, *, env: Mapping[str, str] | None = None, timeout: float | None = None,
                  check: bool = True, input: StdinSource = None, on_line: OnLine | None = None,
                  secrets: Sequence[str] = (), on_stdout: OnStdout | None = None) -> ExecResult:
        return await self._execute(build_script(command, env), command, stdin=input, timeout=timeout,
                                   check=check, on_line=on_line, secrets=secrets, on_stdout=on_stdout)

    async def put_bytes(self, data: bytes, path: str, *, mode: int = 0o644) -> None:
        await asyncio.to_thread(self._put, path, mode, lambda tmp: Path(tmp).write_bytes(data))

    async def put_file(self, local: Path, path: str, *, mode: int | None = None) -> None:
        m = mode if mode is not None else os.stat(local).st_mode & 0o7777
        await asyncio.to_thread(self._put, path, m, lambda tmp: shutil.copyfile(local, tmp))

    def _put(self, path: str, mode: int, write: Callable[[str], object]) -> None:
        parent, name = split_target(path)
        tmp = os.path.join(parent, f".{name}.tmp-{_secrets.token_hex(4)}")
        try:
            os.makedirs(parent, exist_ok=True)
            write(tmp)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise HostError(self.address, f"{self.address}: write {path}: {e.strerror or e}") from None

    async def put_tree(self, local_dir: Path, remote_dir: str, *, files: Sequence[str] | None = None,
                       compress: bool = True, on_bytes: Callable[[int], None] | None = None) -> None:
        await put_tree_via(self, local_dir, remote_dir, files=files, compress=compress, on_bytes=on_bytes)

    async def read_file(self, path: str) -> bytes | None:
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise HostError(self.address, f"{self.address}: read {path}: {e.strerror or e}") from None

    async def remove(self, path: str) -> None:
        norm = checked_remove_path(path)
        await self.run(f"rm -rf -- {shlex.quote(norm)}")

    async def close(self) -> None:
        return None


async def put_tree_via(host: Runner, local_dir: Path, remote_dir: str, *, files: Sequence[str] | None,
                       compress: bool, on_bytes: Callable[[int], None] | None) -> None:
    """One tar stream of ``local_dir`` into ``tar -x`` on ``host`` (shared by SSH and local hosts)."""
    if not Path(local_dir).is_dir():
        raise HostError(host.address, f"{host.address}: copy {local_dir}: not a directory")
    d = shlex.quote(remote_dir)
    command = f"mkdir -p -- {d} && tar -x{'z' if compress else ''} -p --no-same-owner -b {BLOCKING_FACTOR} -f - -C {d}"
    chunks = tar_chunks(Path(local_dir), files, compress=compress, on_bytes=on_bytes)
    try:
        await host._execute(build_script(command, None), command, stdin=chunks)
    finally:
        await chunks.aclose()
