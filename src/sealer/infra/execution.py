"""How a command runs on a host, the same way over SSH and locally.

The command line that reaches the host is always the same fixed bootstrap, so neither the script nor its
environment ever shows in ``ps``::

    exec setsid -w bash -c 'echo $$; IFS= read -r n; s=$(head -c "$n"; echo .); eval "${s%.}"'

The bootstrap runs in its own session and process group (``setsid``), prints its PID (= the group id) as the
first stdout line, reads a length-prefixed script from stdin and evaluates it; the rest of stdin is the
command's ``input``. The script is ``set -o pipefail``, ``export K='V'`` for the environment, then the
command. Cancelling or timing out kills the whole process group on the host (TERM, then KILL after 2 s).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

from sealer.infra.errors import HostCommandError, HostConnectionLost
from sealer.infra.model import ExecResult, redact

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 16
BOOTSTRAP = 'echo $$; IFS= read -r n || exit 97; s=$(head -c "$n"; echo .); eval "${s%.}"'
REMOTE_COMMAND = "exec setsid -w bash -c " + shlex.quote(BOOTSTRAP)
KILL_GRACE = 2.0
EXIT_GRACE = 2.0  # after the command exits, how long its output may stay open (a background child holding it)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

OnLine = Callable[[str, str], None]
OnStdout = Callable[[bytes], object]
StdinSource = bytes | AsyncIterator[bytes] | None


def kill_group_script(pgid: int, grace: float = KILL_GRACE) -> str:
    steps = max(1, int(grace / 0.1))
    return (f"kill -TERM -- -{pgid} 2>/dev/null || exit 0; i=0; while [ $i -lt {steps} ]; do "
            f"kill -0 -- -{pgid} 2>/dev/null || exit 0; sleep 0.1; i=$((i+1)); done; "
            f"kill -KILL -- -{pgid} 2>/dev/null; exit 0")


def build_script(command: str, env: Mapping[str, str] | None) -> str:
    lines = ["set -o pipefail"]
    for key, value in (env or {}).items():
        if not _ENV_NAME.match(key):
            raise ValueError(f"environment variable name {key!r} is not valid")
        lines.append(f"export {key}={shlex.quote(value)}")
    lines.append(command)
    return "\n".join(lines) + "\n"


class StdinClosed(Exception):
    """The command stopped reading its stdin (it exited or closed it); not an error by itself."""


class ConnectionLost(Exception):
    """The channel to the host broke while a command ran."""


class Proc(Protocol):
    """One running bootstrap, over SSH or local."""

    async def write(self, data: bytes) -> None: ...  # raises StdinClosed
    def write_eof(self) -> None: ...
    async def read_stdout(self) -> bytes: ...  # b"" at EOF; raises ConnectionLost
    async def read_stderr(self) -> bytes: ...
    async def wait(self) -> int | None: ...  # None: no exit status (connection lost)
    def exit_code(self) -> int | None: ...  # the exit status once known, without waiting
    async def aclose(self) -> None: ...  # release the channel / pipes (after the process ended or was killed)


class _Lines:
    """Splits a byte stream into lines for ``on_line`` and keeps the whole text."""

    def __init__(self, stream: str, on_line: OnLine | None, secrets: Sequence[str]) -> None:
        self.stream = stream
        self.data = bytearray()
        self._pending = b""
        self._on_line = on_line
        self._secrets = secrets

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if self._on_line is None:
            return
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._emit(line)

    def finish(self) -> None:
        if self._on_line is not None and self._pending:
            self._emit(self._pending)
            self._pending = b""

    def _emit(self, line: bytes) -> None:
        assert self._on_line is not None
        text = redact(line.decode("utf-8", "replace").rstrip("\r"), self._secrets)
        try:
            self._on_line(self.stream, text)
        except Exception:  # a progress callback must not break the command
            log.exception("on_line callback failed")

    def text(self) -> str:
        return redact(self.data.decode("utf-8", "replace"), self._secrets)


class Runner:
    """The shared run loop; hosts provide ``_spawn`` and ``_kill_group``."""

    address: str
    # at most this many commands at once on the host (None: no limit); sshd's MaxSessions defaults to 10
    _slots: asyncio.Semaphore | None = None

    async def _spawn(self) -> Proc:
        raise NotImplementedError

    async def _kill_group(self, pgid: int) -> None:
        raise NotImplementedError

    async def _execute(self, script: str, display: str, *, stdin: StdinSource = None,
                       timeout: float | None = None, check: bool = True, on_line: OnLine | None = None,
                       secrets: Sequence[str] = (), on_stdout: OnStdout | None = None) -> ExecResult:
        if self._slots is None:
            return await self._execute_now(script, display, stdin=stdin, timeout=timeout, check=check,
                                           on_line=on_line, secrets=secrets, on_stdout=on_stdout)
        async with self._slots:
            return await self._execute_now(script, display, stdin=stdin, timeout=timeout, check=check,
                                           on_line=on_line, secrets=secrets, on_stdout=on_stdout)

    async def _execute_now(self, script: str, display: str, *, stdin: StdinSource, timeout: float | None,
                           check: bool, on_line: OnLine | None, secrets: Sequence[str],
                           on_stdout: OnStdout | None = None) -> ExecResult:
        shown = redact(display, secrets)
        log.debug("%s: run: %s", self.address, shown)
        start = time.monotonic()
        proc = await self._spawn()
        loop = asyncio.get_running_loop()
        pid: asyncio.Future[int | None] = loop.create_future()
        out = _Lines("stdout", on_line, secrets)
        err = _Lines("stderr", on_line, secrets)
        sink = out.feed if on_stdout is None else on_stdout  # binary output goes to the caller as it arrives

        async def pump_stdout() -> None:
            try:
                await read_stdout()
            finally:
                if not pid.done():
                    pid.set_result(None)

        async def read_stdout() -> None:
            header = b""
            while not pid.done():
                chunk = await proc.read_stdout()
                if not chunk:
                    pid.set_result(None)
                    return
                header += chunk
                if b"\n" in header:
                    first, rest = header.split(b"\n", 1)
                    pid.set_result(int(first) if first.strip().isdigit() else None)
                    if rest:
                        sink(rest)
            while chunk := await proc.read_stdout():
                sink(chunk)
            out.finish()

        async def pump_stderr() -> None:
            while chunk := await proc.read_stderr():
                err.feed(chunk)
            err.finish()

        async def feed() -> None:
            body = script.encode()
            try:
                await proc.write(b"%d\n" % len(body) + body)
                if isinstance(stdin, bytes):
                    await proc.write(stdin)
                elif stdin is not None:
                    async for chunk in stdin:
                        await proc.write(chunk)
                proc.write_eof()
            except StdinClosed:
                pass

        tasks = [asyncio.create_task(pump_stdout()), asyncio.create_task(pump_stderr()),
                 asyncio.create_task(feed())]
        code: int | None = None
        try:
            try:
                async with asyncio.timeout(timeout):
                    await self._until_done(proc, tasks, shown)
                    code = proc.exit_code()
                    if code is None:
                        code = await proc.wait()
            except TimeoutError:
                await self._abort(pid)
                result = ExecResult(self.address, shown, -1, out.text(), err.text(), time.monotonic() - start)
                raise HostCommandError(result, f"{self.address}: command timed out after {timeout:g} s: "
                                               f"{_short(shown)}") from None
            except ConnectionLost as e:
                why = redact(str(e), secrets)
                raise HostConnectionLost(self.address, f"while running {_short(shown)!r}"
                                                       + (f": {why}" if why else "")) from None
            except BaseException:  # cancelled (Ctrl-C) or the stdin source failed: stop the remote command
                await self._abort(pid)
                raise
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await asyncio.wait_for(proc.aclose(), 5)
            except (TimeoutError, OSError) as e:
                log.debug("%s: closing the session: %s", self.address, e)
        duration = time.monotonic() - start
        if code is None:
            raise HostConnectionLost(self.address, f"while running {_short(shown)!r}")
        result = ExecResult(self.address, shown, code, out.text(), err.text(), duration)
        log.debug("%s: exit %d after %.2f s: %s", self.address, code, duration, _short(shown, 120))
        if check and code != 0:
            raise HostCommandError(result)
        return result

    async def _until_done(self, proc: Proc, tasks: list[asyncio.Task[None]], shown: str) -> None:
        """Wait for the output to end. When the command has exited but its output stays open (``daemon &``
        without redirection keeps the pipes), stop waiting after EXIT_GRACE instead of hanging like ssh does."""
        pending: set[asyncio.Task[None]] = set(tasks)
        exited_at: float | None = None
        while pending:
            done, pending = await asyncio.wait(pending, timeout=0.25, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
            if not pending or proc.exit_code() is None:
                continue
            if pending == {tasks[2]}:
                tasks[2].cancel()  # the command exited with its output closed: nobody reads more stdin
                await asyncio.wait(pending)
                return
            if exited_at is None:
                exited_at = time.monotonic()
            elif time.monotonic() - exited_at >= EXIT_GRACE:
                log.warning("%s: the command exited but a background process keeps its output open; "
                            "not waiting for it (redirect a daemon's output): %s", self.address, _short(shown, 120))
                for t in pending:
                    t.cancel()
                await asyncio.wait(pending)
                return

    async def _abort(self, pid: asyncio.Future[int | None]) -> None:
        """Kill the command's process group on the host; never raises."""
        try:
            pgid = await asyncio.wait_for(asyncio.shield(pid), 5)
        except BaseException:
            pgid = None
        if pgid is None:
            log.warning("%s: could not learn the command's process id; it may still run", self.address)
            return
        try:
            await asyncio.wait_for(self._kill_group(pgid), KILL_GRACE + 8)
            log.debug("%s: killed process group %d", self.address, pgid)
        except BaseException as e:  # noqa: BLE001 - best effort while already failing
            log.warning("%s: could not stop process group %d: %s", self.address, pgid, e)


def _short(command: str, limit: int = 300) -> str:
    one = " ".join(command.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."
