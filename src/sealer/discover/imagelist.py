"""``manifests/imageList`` and ``manifests/imageList.ignore``: one reference per line.

Whitespace is trimmed, blank lines and ``#`` comments (whole-line or after the reference) skipped;
an invalid reference is a :class:`DiscoveryError` naming ``FILE:LINE`` (every invalid line is reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sealer.discover.model import DiscoveryErrors
from sealer.errors import DiscoveryError, ReferenceError_
from sealer.reference import Reference, parse


@dataclass(frozen=True)
class ListEntry:
    raw: str
    line: int
    reference: Reference


def _entry(line: str, number: int, origin: str, default_tag: bool) -> ListEntry | None:
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    try:
        ref = parse(text, default_tag=default_tag)
    except ReferenceError_ as e:
        raise DiscoveryError(f"read image list: {e}", origin, number) from None
    return ListEntry(text, number, ref)


def parse_lines(lines: Iterable[str], origin: str, *, default_tag: bool = True) -> Iterator[ListEntry]:
    for number, line in enumerate(lines, start=1):
        entry = _entry(line, number, origin, default_tag)
        if entry is not None:
            yield entry


def read_list(path: Path, origin: str, *, default_tag: bool = True) -> list[ListEntry]:
    """Every entry; every invalid line is reported (:class:`DiscoveryErrors` when there are several)."""
    entries: list[ListEntry] = []
    errors: list[DiscoveryError] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    entry = _entry(line, number, origin, default_tag)
                except DiscoveryError as e:
                    errors.append(e)
                    continue
                if entry is not None:
                    entries.append(entry)
    except UnicodeDecodeError:
        raise DiscoveryError("read image list: not UTF-8 text", origin) from None
    except OSError as e:
        raise DiscoveryError(f"read image list: {e.strerror}", origin) from None
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DiscoveryErrors(errors)
    return entries


class IgnoreList:
    """References not to cache. ``nginx`` (no tag, no digest) ignores every tag of that repository;
    ``nginx:1.25`` ignores that tag (with or without digest); ``name@sha256:..`` that digest."""

    def __init__(self, entries: Iterable[Reference] = ()) -> None:
        self.entries = list(entries)

    def add(self, ref: Reference) -> None:
        self.entries.append(ref)

    def matches(self, ref: Reference) -> bool:
        return any(
            e.repository == ref.repository
            and (e.tag is None or e.tag == ref.tag)
            and (e.digest is None or e.digest == ref.digest)
            for e in self.entries)
