"""``--platform`` values: ``os/arch[/variant]`` checked against the names the OCI ecosystem uses (containerd's
``platforms`` package), so ``--platform foo`` or ``--platform ''`` is an error, not ``linux/foo``."""

from __future__ import annotations

import re

from sealer.errors import SealerError
from sealer.oci.model import Platform

KNOWN_OS = frozenset(["aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"])
KNOWN_ARCH = frozenset(["386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm"])
_ALIASES = {"x86_64": ("amd64", None), "x86-64": ("amd64", None), "aarch64": ("arm64", None),
            "i386": ("386", None), "armhf": ("arm", "v7"), "armel": ("arm", "v6")}
_VARIANT = re.compile(r"^v\d+(\.\d+)?$")


class PlatformError(SealerError):
    """A --platform value that is not os/arch[/variant]."""

    exit_code = 2


def parse_option(text: str, flag: str = "--platform") -> Platform:
    """Parse one ``os/arch[/variant]`` (``arch`` alone means ``linux/arch``)."""
    want = "want os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7"
    s = text.strip()
    if not s:
        raise PlatformError(f"{flag} '': empty; {want}")
    parts = s.lower().split("/")
    if len(parts) == 1:
        parts = ["linux", parts[0]]
    if len(parts) not in (2, 3) or not all(parts):
        raise PlatformError(f"{flag} {text!r}: {want}")
    os_name, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else None
    if arch in _ALIASES:
        arch, alias_variant = _ALIASES[arch]
        variant = variant or alias_variant
    if os_name not in KNOWN_OS:
        raise PlatformError(f"{flag} {text!r}: unknown operating system {os_name!r}; {want}")
    if arch not in KNOWN_ARCH:
        raise PlatformError(f"{flag} {text!r}: unknown architecture {arch!r}; {want}")
    if variant is not None and not _VARIANT.match(variant):
        raise PlatformError(f"{flag} {text!r}: variant {variant!r} is not of the form v7, v8, v8.2")
    if arch == "arm64" and variant == "v8":
        variant = None
    return Platform(os_name, arch, variant)


def parse_list(text: str, flag: str = "--platform") -> list[Platform]:
    """A comma-separated list; every item must parse, duplicates are dropped."""
    out: list[Platform] = []
    for item in text.split(","):
        p = parse_option(item, flag)
        if p not in out:
            out.append(p)
    return out
