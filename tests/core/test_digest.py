"""sealer.digest against hashlib and known vectors (the empty string's sha256 is a published constant)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from sealer.digest import Digest, HashingReader, HashingWriter, is_digest, sha256_file, verify_chunks
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


def test_hashing_writer_and_reader_count_and_hash() -> None:
    out = io.BytesIO()
    w = HashingWriter(out)  # type: ignore[arg-type]
    assert w.write(b"ab") == 2 and w.write(b"c") == 1
    w.flush()
    assert out.getvalue() == b"abc" and w.size == 3 and str(w.digest) == ABC
    r = HashingReader(io.BytesIO(b"abcdef"))  # type: ignore[arg-type]
    assert r.read(3) == b"abc" and r.size == 3 and str(r.digest) == ABC
    assert r.read() == b"def" and r.size == 6
    assert r.digest == Digest.of_bytes(b"abcdef")
    assert str(HashingReader(io.BytesIO(b"")).digest) == EMPTY  # type: ignore[arg-type]


def test_verify_chunks_passes_good_data_through() -> None:
    assert b"".join(verify_chunks([b"a", b"b", b"c"], Digest(ABC), 3)) == b"abc"
    assert b"".join(verify_chunks([b"abc"], Digest(ABC))) == b"abc"          # size unknown


def test_verify_chunks_refuses_too_many_bytes_as_soon_as_they_arrive() -> None:
    got = []
    with pytest.raises(DigestError, match=r"^verify layer sha256:ba78.*: more than the announced 2 bytes$"):
        for c in verify_chunks([b"a", b"b", b"c", b"never read"], Digest(ABC), 2, what="layer"):
            got.append(c)
    assert got == [b"a", b"b"]


def test_verify_chunks_refuses_short_or_wrong_content() -> None:
    with pytest.raises(DigestError, match=r"^verify blob sha256:ba78\w+: got 2 bytes, want 3$"):
        list(verify_chunks([b"ab"], Digest(ABC), 3))
    with pytest.raises(DigestError, match=rf"^verify config: digest is {Digest.of_bytes(b'abd')}, want {ABC}$"):
        list(verify_chunks([b"abd"], Digest(ABC), 3, what="config"))
    with pytest.raises(DigestError, match="digest is"):
        list(verify_chunks([b"abd"], Digest(ABC)))


@pytest.mark.parametrize("chunk", [1, 2, 1 << 20])
def test_sha256_file(tmp_path: Path, chunk: int) -> None:
    p = tmp_path / "f"
    data = bytes(range(256)) * 41
    p.write_bytes(data)
    assert sha256_file(str(p), chunk) == (Digest("sha256:" + hashlib.sha256(data).hexdigest()), len(data))
    p.write_bytes(b"")
    assert sha256_file(str(p)) == (Digest(EMPTY), 0)
