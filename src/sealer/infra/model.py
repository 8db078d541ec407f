"""Plain data of the host layer: SSH settings and command results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SSHConfig:
    """How to reach hosts over SSH (sealer's ``-u/-p/--pk/--pk-passwd/--port``).

    ``known_hosts`` None means ``~/.sealer/known_hosts``: trust on first use (the key a host offers the first
    time is recorded, file mode 0600), and a host that later offers another key is refused with
    :class:`~sealer.infra.errors.HostKeyChanged` naming the host and the file line to delete if the host was
    really reinstalled. ``~/.ssh/known_hosts`` is never read or written.
    """

    user: str = "root"
    password: str | None = None
    pkey: Path | None = None
    pkey_password: str | None = None
    port: int = 22
    connect_timeout: float = 10.0
    known_hosts: Path | None = None

    def __repr__(self) -> str:  # never show the passwords
        return (f"SSHConfig(user={self.user!r}, password={'***' if self.password else None}, pkey={self.pkey!r}, "
                f"pkey_password={'***' if self.pkey_password else None}, port={self.port}, "
                f"connect_timeout={self.connect_timeout}, known_hosts={self.known_hosts!r})")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.pkey_password) if s)


@dataclass(frozen=True)
class ExecResult:
    """What a command did on a host. ``command``, ``stdout`` and ``stderr`` have secrets replaced by ``***``.
    A command that timed out has ``exit_code`` -1."""

    host: str
    command: str
    exit_code: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, n: int = 20) -> str:
        """The last ``n`` lines of stderr, or of stdout when stderr is empty (scripts often report on stdout)."""
        text = self.stderr if self.stderr.strip() else self.stdout
        lines = text.rstrip("\n").splitlines()
        return "\n".join(lines[-n:])


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace every non-empty secret in ``text`` by ``***`` (longest first, so overlapping secrets vanish)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
