"""Digest value type and hashing helpers that verify while streaming."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sealer.errors import DigestError

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest, always ``sha256:<64 hex>``."""

    value: str

    def __post_init__(self) -> None:
        if not _DIGEST_RE.fullmatch(self.value):
            raise DigestError(f"parse digest {self.value[:80]!r}: want sha256:<64 lowercase hex>")

    @classmethod
    def parse(cls, text: str) -> Digest:
        return cls(text)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256:" + hashlib.sha256(data).hexdigest())

    @classmethod
    def from_hex(cls, hexdigest: str) -> Digest:
        return cls("sha256:" + hexdigest)

    @property
    def algorithm(self) -> str:
        return "sha256"

    @property
    def hex(self) -> str:
        return self.value[7:]

    @property
    def short(self) -> str:
        return self.hex[:12]

    def __str__(self) -> str:
        return self.value


def is_digest(text: str) -> bool:
    return bool(_DIGEST_RE.fullmatch(text))


class HashingWriter:
    """Wraps a binary file: every write is hashed and counted."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._h = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._h.update(data)
        self.size += len(data)
        self._fp.write(data)
        return len(data)

    def flush(self) -> None:
        self._fp.flush()

    @property
    def digest(self) -> Digest:
        return Digest.from_hex(self._h.hexdigest())


class HashingReader:
    """Wraps a binary file: every read is hashed and counted."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._h = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._fp.read(n)
        self._h.update(data)
        self.size += len(data)
        return data

    @property
    def digest(self) -> Digest:
        return Digest.from_hex(self._h.hexdigest())


def verify_chunks(chunks: Iterable[bytes], expected: Digest, size: int | None = None,
                  what: str = "blob") -> Iterator[bytes]:
    """Yield the chunks, raising DigestError at the end when size or digest differ."""
    h = hashlib.sha256()
    n = 0
    for c in chunks:
        h.update(c)
        n += len(c)
        if size is not None and n > size:
            raise DigestError(f"verify {what} {expected}: more than the announced {size} bytes")
        yield c
    if size is not None and n != size:
        raise DigestError(f"verify {what} {expected}: got {n} bytes, want {size}")
    got = Digest.from_hex(h.hexdigest())
    if got != expected:
        raise DigestError(f"verify {what}: digest is {got}, want {expected}")


def sha256_file(path: str, chunk: int = CHUNK) -> tuple[Digest, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fp:
        while True:
            b = fp.read(chunk)
            if not b:
                break
            h.update(b)
            n += len(b)
    return Digest.from_hex(h.hexdigest()), n
