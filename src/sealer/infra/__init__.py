"""Hosts: run commands and copy files on the machines a cluster is delivered to.

Over SSH with asyncssh (one connection per host, a channel per command, SFTP for files, one tar stream per
tree) or directly on this machine when the address is one of its own. Known-hosts policy: trust on first use
into ``~/.sealer/known_hosts`` (0600), refuse a changed key (see :mod:`sealer.infra.knownhosts`).
"""

from sealer.infra.errors import (
    HostAuthFailed,
    HostCommandError,
    HostConnectionLost,
    HostError,
    HostKeyChanged,
    HostsUnreachable,
    HostUnreachable,
    IPListError,
)
from sealer.infra.hosts import Host, close_all, connect, connect_all, fan_out
from sealer.infra.ips import parse_ips
from sealer.infra.local import LocalHost
from sealer.infra.localaddrs import is_local_address, local_addresses
from sealer.infra.model import ExecResult, SSHConfig, redact
from sealer.infra.ssh import SSHHost
from sealer.infra.tarstream import LocalTarError

__all__ = [
    "ExecResult", "Host", "HostAuthFailed", "HostCommandError", "HostConnectionLost", "HostError", "HostKeyChanged",
    "HostUnreachable", "HostsUnreachable", "IPListError", "LocalHost", "LocalTarError", "SSHConfig", "SSHHost", "close_all",
    "connect", "connect_all", "fan_out", "is_local_address", "local_addresses", "parse_ips", "redact",
]
