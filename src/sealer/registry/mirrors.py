"""Mirrors from a containers ``registries.conf`` v2 TOML file.

    [[registry]]
    prefix = "docker.io"                 # optional; defaults to location
    location = "docker.io"
    insecure = false
    blocked = false
      [[registry.mirror]]
      location = "127.0.0.1:5000/dockerhub"
      insecure = true
      pull-from-mirror = "all"           # or "digest-only" / "tag-only"

A pull of ``docker.io/library/nginx:1`` tries ``127.0.0.1:5000/dockerhub/library/nginx:1`` first and then the
origin. The longest matching prefix wins; ``*.example.com`` wildcard prefixes match sub-domains.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sealer import reference
from sealer.errors import RegistryError
from sealer.reference import Reference


@dataclass(frozen=True)
class Source:
    """One place to pull ``ref`` from: a mirror or the origin."""

    ref: Reference
    insecure: bool = False
    mirror: bool = False


@dataclass(frozen=True)
class MirrorEntry:
    location: str
    insecure: bool = False
    pull_from: str = "all"   # all | digest-only | tag-only


@dataclass(frozen=True)
class RegistryEntry:
    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirrors: tuple[MirrorEntry, ...] = ()


@dataclass(frozen=True)
class RegistriesConf:
    registries: tuple[RegistryEntry, ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> RegistriesConf:
        if path is None:
            return cls()
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise RegistryError(f"read registries file {path}: not found") from None
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise RegistryError(f"read registries file {path}: {e}") from None
        return cls.from_dict(doc, str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, object], where: str = "registries.conf") -> RegistriesConf:
        entries = []
        regs = doc.get("registry", [])
        if not isinstance(regs, list):
            raise RegistryError(f"read registries file {where}: [[registry]] must be an array of tables")
        for i, r in enumerate(regs):
            if not isinstance(r, dict):
                raise RegistryError(f"read registries file {where}: registry #{i + 1} is not a table")
            location = str(r.get("location", "")).rstrip("/")
            prefix = str(r.get("prefix", "") or location).rstrip("/")
            if not prefix:
                raise RegistryError(f"read registries file {where}: registry #{i + 1} needs a location or prefix")
            mirrors = []
            for m in r.get("mirror", []) or []:
                if not isinstance(m, dict) or not m.get("location"):
                    raise RegistryError(f"read registries file {where}: mirror of {prefix} needs a location")
                pull_from = str(m.get("pull-from-mirror", "all"))
                if r.get("mirror-by-digest-only"):
                    pull_from = "digest-only"
                if pull_from not in ("all", "digest-only", "tag-only"):
                    raise RegistryError(f"read registries file {where}: mirror {m['location']}: "
                                        f"pull-from-mirror must be all, digest-only or tag-only")
                mirrors.append(MirrorEntry(str(m["location"]).rstrip("/"), bool(m.get("insecure", False)),
                                           pull_from))
            entries.append(RegistryEntry(prefix, location or prefix, bool(r.get("insecure", False)),
                                         bool(r.get("blocked", False)), tuple(mirrors)))
        return cls(tuple(entries))

    def match(self, ref: Reference) -> tuple[RegistryEntry, str] | None:
        """The entry with the longest prefix matching ``ref`` and the prefix it matched."""
        name = ref.repository
        best: tuple[RegistryEntry, str] | None = None
        for e in self.registries:
            p = e.prefix
            if p.startswith("*."):
                host = ref.domain
                if host.endswith(p[1:]):
                    matched = host
                else:
                    continue
            elif name == p or name.startswith(p + "/"):
                matched = p
            else:
                continue
            if best is None or len(matched) > len(best[1]):
                best = (e, matched)
        return best

    def sources(self, ref: Reference) -> list[Source]:
        """Mirrors in order, then the origin (rewritten when the entry's location differs from its prefix)."""
        hit = self.match(ref)
        if hit is None:
            return [Source(ref)]
        entry, matched = hit
        if entry.blocked:
            raise RegistryError(f"pull {ref}: registry {entry.prefix} is blocked in registries.conf")
        rest = ref.repository[len(matched):]
        out = []
        for m in entry.mirrors:
            if m.pull_from == "digest-only" and ref.digest is None:
                continue
            if m.pull_from == "tag-only" and ref.digest is not None:
                continue
            out.append(Source(_rewrite(ref, m.location + rest), m.insecure, mirror=True))
        location = entry.location if not entry.prefix.startswith("*.") else ref.domain
        origin = ref if location == matched else _rewrite(ref, location + rest)
        out.append(Source(origin, entry.insecure))
        return out


def _rewrite(ref: Reference, repository: str) -> Reference:
    if "/" not in repository:
        raise RegistryError(f"rewrite {ref} to {repository}: mirror location needs a repository path")
    try:
        parsed = reference.parse(f"{repository}:x")   # a first component without "." or ":" is a docker.io path
    except Exception as e:  # noqa: BLE001 - reported as a config error
        raise RegistryError(f"rewrite {ref} to {repository}: {e}") from None
    return Reference(parsed.domain, parsed.path, ref.tag, ref.digest)
