"""Errors of the host layer. Every message starts with the host's address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealer.errors import SealerError

if TYPE_CHECKING:
    from sealer.infra.model import ExecResult


class HostError(SealerError):
    """Something went wrong on (or on the way to) one host; ``host`` is its address."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(message)


class HostUnreachable(HostError):
    """No SSH session to the host: refused, timed out, authentication failed, host key changed, lost."""

    def __init__(self, host: str, reason: str) -> None:
        self.reason = reason
        super().__init__(host, f"{host}: cannot connect: {reason}")


class HostConnectionLost(HostUnreachable):
    """The connection broke while a command ran (the host went down, sshd was killed)."""

    def __init__(self, host: str, reason: str) -> None:
        self.reason = reason
        HostError.__init__(self, host, f"{host}: connection lost: {reason}")


class HostKeyChanged(HostUnreachable):
    """The host offered a key other than the one recorded in known_hosts (possible man-in-the-middle)."""


class HostAuthFailed(HostUnreachable):
    """The host refused the credentials."""


class HostsUnreachable(HostUnreachable):
    """Several hosts could not be reached; ``errors`` maps each address to its own error."""

    def __init__(self, errors: dict[str, HostUnreachable]) -> None:
        self.errors = dict(errors)
        lines = "\n".join(f"  {e}" for e in errors.values())
        HostError.__init__(self, ", ".join(errors), f"cannot connect to {len(errors)} hosts:\n{lines}")
        self.reason = "; ".join(e.reason for e in errors.values())


class HostCommandError(HostError):
    """A command exited non-zero or timed out; ``result`` holds its (redacted) output."""

    def __init__(self, result: ExecResult, message: str | None = None) -> None:
        self.result = result
        if message is None:
            message = f"{result.host}: command failed with exit code {result.exit_code}: {_short(result.command)}"
        tail = result.tail()
        if tail:
            message += "\n" + "\n".join(f"  | {line}" for line in tail.splitlines())
        super().__init__(result.host, message)


class IPListError(SealerError):
    """An IP list or range that does not parse."""

    exit_code = 2


def _short(command: str, limit: int = 300) -> str:
    one = " ".join(command.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."
