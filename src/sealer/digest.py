"""Digest value type and hashing helpers that verify while streaming."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sealer.errors import DigestError

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest, always ``sha256:<64 hex>``."""

    value: str

    def __post_init__(self) -> None:
        if not _DIGEST_RE.match(self.value):
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
    return bool(_DIGEST_RE.match(text))


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
