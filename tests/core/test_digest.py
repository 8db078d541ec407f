"""sealer.digest against hashlib and known vectors (the empty string's sha256 is a published constant)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sealer.digest import Digest, is_digest, sha256_file
from sealer.errors import DigestError

EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ABC = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"   # FIPS 180-2 "abc"


def test_known_vectors_and_accessors() -> None:
    assert str(Digest.of_bytes(b"")) == EMPTY
    d = Digest.of_bytes(b"abc")
    assert str(d) == d.value == ABC
    assert d.algorithm == "sha256"
    assert d.hex == ABC[7:] and d.short == ABC[7:19]
    assert Digest.from_hex(ABC[7:]) == d == Digest.parse(ABC)
    assert sorted([Digest(ABC), Digest(EMPTY)]) == [Digest(ABC), Digest(EMPTY)]   # ordered by value


@pytest.mark.parametrize("bad", [
    "", "sha256:", ABC.upper(), ABC[:-1], ABC + "0", "sha512:" + ABC[7:], ABC[7:], " " + ABC, ABC + "\n",
    "sha256:" + "g" * 64,
])
def test_invalid_digests_are_refused(bad: str) -> None:
    assert not is_digest(bad)
    with pytest.raises(DigestError, match=r"parse digest .*: want sha256:<64 lowercase hex>"):
        Digest(bad)


def test_error_shows_at_most_80_characters_of_the_input() -> None:
    with pytest.raises(DigestError) as e:
        Digest("x" * 200)
    assert repr("x" * 80) in str(e.value) and "x" * 81 not in str(e.value)


def test_is_digest_accepts_a_valid_one() -> None:
    assert is_digest(ABC) and is_digest(EMPTY)


@pytest.mark.parametrize("chunk", [1, 2, 1 << 20])
def test_sha256_file(tmp_path: Path, chunk: int) -> None:
    p = tmp_path / "f"
    data = bytes(range(256)) * 41
    p.write_bytes(data)
    assert sha256_file(str(p), chunk) == (Digest("sha256:" + hashlib.sha256(data).hexdigest()), len(data))
    p.write_bytes(b"")
    assert sha256_file(str(p)) == (Digest(EMPTY), 0)
