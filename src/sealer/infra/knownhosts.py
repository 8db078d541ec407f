"""Known-hosts policy: trust on first use, refuse a changed key.

The first time sealer connects to a host it records the host key the host offers in ``~/.sealer/known_hosts``
(OpenSSH format, file mode 0600, or the file ``SSHConfig.known_hosts`` names). Later connections accept only
that key; a different key fails with :class:`HostKeyChanged`, naming the host and the file line to delete when
the host was really reinstalled. The key is checked before any credential is sent.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)
_lock = threading.RLock()


def default_known_hosts() -> Path:
    return Path(os.path.expanduser("~")) / ".sealer" / "known_hosts"


def host_pattern(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


class KnownHosts:
    """One OpenSSH-format known_hosts file (plain host patterns, no hashing, no wildcards)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lookup(self, pattern: str) -> list[tuple[int, str]]:
        """(line number, ``"keytype base64"``) of every key recorded for ``pattern``."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        out: list[tuple[int, str]] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if len(fields) < 3 or fields[0].startswith("#") or fields[0].startswith("@"):
                continue
            if pattern in fields[0].split(","):
                out.append((lineno, f"{fields[1]} {fields[2]}"))
        return out

    def add(self, pattern: str, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.fchmod(fd, 0o600)
                os.write(fd, f"{pattern} {key}\n".encode())
            finally:
                os.close(fd)
        log.info("%s: recorded new host key in %s", pattern, self.path)

    def check(self, pattern: str, key: str) -> str | None:
        """None when ``key`` is (now) trusted for ``pattern``; else why it is not."""
        with _lock:
            recorded = self.lookup(pattern)
            if not recorded:
                self.add(pattern, key)
                return None
        if any(k == key for _, k in recorded):
            return None
        lines = ", ".join(str(n) for n, _ in recorded)
        return (f"host key changed: it offers {key.split()[0]} {_fingerprint(key)} but {self.path} line {lines} "
                f"records another key; if the host was reinstalled, delete that line and retry")


def _fingerprint(key: str) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(base64.b64decode(key.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
