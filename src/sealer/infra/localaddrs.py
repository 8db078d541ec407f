"""The addresses of this machine's own interfaces (to tell the local host from remote ones)."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import socket
from pathlib import Path

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def local_addresses() -> frozenset[str]:
    """Every address configured on an interface of this machine: ``127.0.0.1`` but not the rest of
    ``127.0.0.0/8`` (which is routed locally without being any interface's address)."""
    addrs: set[str] = set()
    addrs |= _fib_trie_local(Path("/proc/net/fib_trie"))
    addrs |= _if_inet6(Path("/proc/net/if_inet6"))
    if not addrs:  # not Linux, or /proc not mounted: at least the loopback and what the host name resolves to
        addrs = {"127.0.0.1", "::1"}
        with contextlib.suppress(OSError):
            addrs |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    log.debug("local addresses: %s", sorted(addrs))
    return frozenset(addrs)


def is_local_address(address: str) -> bool:
    try:
        norm = str(ipaddress.ip_address(address))
    except ValueError:
        return False
    return norm in local_addresses()


def _fib_trie_local(path: Path) -> set[str]:
    """``/proc/net/fib_trie`` lists each interface address as ``|-- A.B.C.D`` followed by ``/32 host LOCAL``."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return set()
    out: set[str] = set()
    for prev, line in zip(lines, lines[1:], strict=False):
        if line.strip() == "/32 host LOCAL" and "|--" in prev:
            out.add(prev.split("|--", 1)[1].strip())
    return out


def _if_inet6(path: Path) -> set[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return set()
    out: set[str] = set()
    for line in lines:
        fields = line.split()
        if fields and len(fields[0]) == 32:
            out.add(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    return out
