"""parse_ips: sealer's IP lists and ranges."""

from __future__ import annotations

import pytest

from sealer.infra import IPListError, parse_ips


@pytest.mark.parametrize(("spec", "expected"), [
    ("", []),
    ("  ", []),
    ("192.168.0.2", ["192.168.0.2"]),
    ("192.168.0.2,192.168.0.3", ["192.168.0.2", "192.168.0.3"]),
    (" 192.168.0.2 , 10.0.0.1 ", ["192.168.0.2", "10.0.0.1"]),
    ("192.168.0.2-192.168.0.4", ["192.168.0.2", "192.168.0.3", "192.168.0.4"]),
    ("192.168.0.2-192.168.0.4,10.0.0.1", ["192.168.0.2", "192.168.0.3", "192.168.0.4", "10.0.0.1"]),
    ("192.168.0.7-192.168.0.7", ["192.168.0.7"]),
    ("10.0.0.1,192.168.0.2-192.168.0.3,10.0.0.1,192.168.0.3", ["10.0.0.1", "192.168.0.2", "192.168.0.3"]),
    ("192.168.0.3,192.168.0.2-192.168.0.4", ["192.168.0.3", "192.168.0.2", "192.168.0.4"]),
    ("10.1.2.0-10.1.2.255", [f"10.1.2.{i}" for i in range(256)]),
    ("fd00::2", ["fd00::2"]),
    ("FD00:0::0002", ["fd00::2"]),
    ("127.0.0.2 - 127.0.0.3", ["127.0.0.2", "127.0.0.3"]),
])
def test_parse(spec: str, expected: list[str]) -> None:
    assert parse_ips(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("192.168.0.2,,192.168.0.3", "empty item"),
    ("192.168.0.2,", "empty item"),
    ("192.168.0.256", "'192.168.0.256' is not an IP address"),
    ("node1", "'node1' is not an IP address"),
    ("192.168.0.2-", "'' is not an IP address"),
    ("192.168.0.2-192.168.0.3-192.168.0.4", "not a range FIRST-LAST"),
    ("192.168.0.4-192.168.0.2", "ends before it starts"),
    ("192.168.0.2-192.168.1.2", "share the first three octets"),
    ("fd00::2-fd00::4", "IPv4 only"),
    ("192.168.0.2:22", "is not an IP address"),
    ("192.168.000.2", "is not an IP address"),
])
def test_errors(spec: str, message: str) -> None:
    with pytest.raises(IPListError) as e:
        parse_ips(spec)
    assert message in str(e.value)
    assert repr(spec) in str(e.value)  # the error names the whole input
    assert e.value.exit_code == 2
