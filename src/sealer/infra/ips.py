"""IP lists as sealer accepts them on ``-m/--masters`` and ``-n/--nodes``."""

from __future__ import annotations

import ipaddress

from sealer.infra.errors import IPListError

MAX_RANGE = 256


def parse_ips(spec: str) -> list[str]:
    """``"192.168.0.2-192.168.0.4,10.0.0.1"`` → every address, in order, without duplicates.

    Items are separated by commas (blanks around them are ignored); an item is one IPv4 or IPv6 address or an
    IPv4 range ``FIRST-LAST`` whose ends share the first three octets (``192.168.0.2-192.168.0.9``), as in
    sealer's ``-m 192.168.0.2-192.168.0.4``. Empty input gives an empty list.
    """
    out: list[str] = []
    seen: set[str] = set()
    if not spec.strip():
        return out
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            raise IPListError(f"IP list {spec!r}: empty item (two commas in a row or a trailing comma)")
        for ip in _expand(item, spec):
            if ip not in seen:
                seen.add(ip)
                out.append(ip)
    return out


def _expand(item: str, spec: str) -> list[str]:
    if "-" not in item:
        return [_one(item, spec)]
    parts = item.split("-")
    if len(parts) != 2:
        raise IPListError(f"IP list {spec!r}: {item!r} is not a range FIRST-LAST (e.g. 192.168.0.2-192.168.0.4)")
    first, last = (ipaddress.ip_address(_one(p.strip(), spec)) for p in parts)
    if not isinstance(first, ipaddress.IPv4Address) or not isinstance(last, ipaddress.IPv4Address):
        raise IPListError(f"IP list {spec!r}: range {item!r}: ranges are IPv4 only")
    if first.packed[:3] != last.packed[:3]:
        raise IPListError(f"IP list {spec!r}: range {item!r}: both ends must share the first three octets "
                          f"(e.g. 192.168.0.2-192.168.0.9)")
    if int(last) < int(first):
        raise IPListError(f"IP list {spec!r}: range {item!r} ends before it starts")
    return [str(ipaddress.IPv4Address(i)) for i in range(int(first), int(last) + 1)]


def _one(text: str, spec: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise IPListError(f"IP list {spec!r}: {text!r} is not an IP address") from None
