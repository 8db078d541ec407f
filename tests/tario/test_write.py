"""The deterministic layer writer, read back with the standard library's tarfile (an independent reader)."""

from __future__ import annotations

import io
import os
import socket
import stat
import tarfile
from pathlib import Path

import pytest

from sealer.errors import ArchiveError
from sealer.tario.write import (
    Content,
    _SourceEntry,
    copy_exact,
    tar_header,
    tar_padding,
    walk_relative,
    write_entries,
    write_tar,
    write_tree,
)


def members(raw: bytes) -> list[tuple[str, str, int, int, str, bytes]]:
    """(name, type, mode, mtime, linkname, content) of every entry, owners checked to be 0/0 unnamed."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        for m in tf:
            assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
            kind = {tarfile.DIRTYPE: "d", tarfile.REGTYPE: "f", tarfile.SYMTYPE: "l", tarfile.FIFOTYPE: "p"}[m.type]
            data = tf.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            out.append((m.name, kind, m.mode, m.mtime, m.linkname, data))
    return out


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"A" * 700)
    os.chmod(root / "a.txt", 0o640)
    (root / "b" / "c" / "x").write_bytes(b"x")
    os.chmod(root / "b", 0o750)
    os.symlink("../a.txt", root / "b" / "link")
    os.mkfifo(root / "b" / "fifo", 0o600)
    os.chmod(root / "b" / "fifo", 0o600)
    os.utime(root / "a.txt", (12345, 12345))
    return root


def test_whole_tree_sorted_fixed_mtime_modes_links(src: Path) -> None:
    out = io.BytesIO()
    write_tree(out, src)
    raw = out.getvalue()
    assert members(raw) == [
        ("a.txt", "f", 0o640, 0, "", b"A" * 700),
        ("b", "d", 0o750, 0, "", b""),
        ("b/c", "d", 0o755, 0, "", b""),
        ("b/c/x", "f", 0o644, 0, "", b"x"),
        ("b/fifo", "p", 0o600, 0, "", b""),
        ("b/link", "l", 0o777, 0, "../a.txt", b""),
    ]
    assert len(raw) % tarfile.BLOCKSIZE == 0
    assert raw.endswith(b"\0" * 1024) and raw[-1536:-1024] != b"\0" * 512   # two zero blocks end it, no more
    again = io.BytesIO()
    write_tree(again, str(src), paths=list(reversed(list(walk_relative(str(src))))))
    assert again.getvalue() == raw                       # same members, any order: same bytes


def test_mtime_kept_when_none_and_given_otherwise(src: Path) -> None:
    out = io.BytesIO()
    write_tree(out, src, paths=["a.txt"], mtime=None)
    assert members(out.getvalue())[0][3] == 12345
    out = io.BytesIO()
    write_tree(out, src, paths=["a.txt"], mtime=777, whiteouts=["gone"])
    assert [(m[0], m[3]) for m in members(out.getvalue())] == [(".wh.gone", 777), ("a.txt", 777)]


def test_paths_subset_gets_parents_as_plain_directories(src: Path) -> None:
    out = io.BytesIO()
    write_tree(out, src, paths=["b/c/x"])
    assert [(m[0], m[1], m[2]) for m in members(out.getvalue())] == [
        ("b", "d", 0o755), ("b/c", "d", 0o755), ("b/c/x", "f", 0o644)]


def test_whiteouts_and_opaque_directories(src: Path) -> None:
    out = io.BytesIO()
    write_entries(out, {"new": str(src / "a.txt"), "plain": None}, whiteouts=["top", "d/e/gone"],
                  opaque_dirs=["o/p"])
    got = [(m[0], m[1], m[2], m[5]) for m in members(out.getvalue())]
    assert got == [
        (".wh.top", "f", 0o644, b""),
        ("d", "d", 0o755, b""), ("d/e", "d", 0o755, b""), ("d/e/.wh.gone", "f", 0o644, b""),
        ("new", "f", 0o640, b"A" * 700),
        ("o", "d", 0o755, b""), ("o/p", "d", 0o755, b""), ("o/p/.wh..wh..opq", "f", 0o644, b""),
        ("plain", "d", 0o755, b""),
    ]


def test_write_tree_passes_opaque_directories(src: Path) -> None:
    out = io.BytesIO()
    write_tree(out, src, paths=["a.txt"], opaque_dirs=["b"])
    assert [m[0] for m in members(out.getvalue())] == ["a.txt", "b", "b/.wh..wh..opq"]


def test_content_members(tmp_path: Path) -> None:
    f = tmp_path / "blob"
    f.write_bytes(b"S" * 1500)
    produced: list[object] = []

    def produce(out: object) -> bool:
        produced.append(out)
        out.write(b"P" * 1500)  # type: ignore[attr-defined]
        return True

    out = io.BytesIO()
    write_tar(out, {"x/data": Content(size=3, data=b"abc"), "x/file": Content(size=1500, source=f),
                    "x/made": Content(size=1500, source=f, produce=produce),
                    "x/fallback": Content(size=1500, source=f, produce=lambda _o: False),
                    "x/zz": Content(size=1, data=b"z")}, mtime=None)
    got = [(m[0], m[1], m[2], m[3], m[5]) for m in members(out.getvalue())]
    assert got == [("x", "d", 0o755, 0, b""), ("x/data", "f", 0o644, 0, b"abc"),
                   ("x/fallback", "f", 0o644, 0, b"S" * 1500), ("x/file", "f", 0o644, 0, b"S" * 1500),
                   ("x/made", "f", 0o644, 0, b"P" * 1500), ("x/zz", "f", 0o644, 0, b"z")]
    assert produced == [out]


def test_names_up_to_255_bytes_fit_one_ustar_block() -> None:
    ti = tarfile.TarInfo("p" * 120 + "/" + "n" * 90)           # split into USTAR's prefix and name fields
    hdr = tar_header(ti)
    assert len(hdr) == tarfile.BLOCKSIZE
    with tarfile.open(fileobj=io.BytesIO(hdr + b"\0" * 1024)) as tf:
        assert tf.getnames() == [ti.name]


def test_non_utf8_names_round_trip(tmp_path: Path) -> None:
    short = "caf\udce9.txt"                                    # the byte 0xe9 read from disk with surrogateescape
    long = "d/" + "x" * 300 + "\udce9"
    assert len(tar_header(tarfile.TarInfo(short))) == tarfile.BLOCKSIZE
    out = io.BytesIO()
    write_tar(out, {short: Content(size=1, data=b"s"), long: Content(size=1, data=b"l")})
    raw = out.getvalue()
    assert raw.count(b"caf\xe9.txt") == 1
    with tarfile.open(fileobj=io.BytesIO(raw), encoding="utf-8", errors="surrogateescape") as tf:
        assert sorted(tf.getnames()) == sorted(["d", long, short])


def test_long_names_use_pax_short_ones_ustar(tmp_path: Path) -> None:
    short = tarfile.TarInfo("d/" + "s" * 90)
    assert len(tar_header(short)) == tarfile.BLOCKSIZE
    assert tar_header(short)[257:263] == b"ustar\x00"
    long = tarfile.TarInfo("d/" + "l" * 300)
    hdr = tar_header(long)
    assert len(hdr) > tarfile.BLOCKSIZE
    out = io.BytesIO()
    write_tar(out, {long.name: Content(size=2, data=b"hi")})
    assert [(m[0], m[5]) for m in members(out.getvalue())] == [("d", b""), (long.name, b"hi")]


@pytest.mark.parametrize(("n", "pad"), [(0, 0), (1, 511), (511, 1), (512, 0), (513, 511)])
def test_tar_padding(n: int, pad: int) -> None:
    assert tar_padding(n) == b"\0" * pad


def test_copy_exact_copies_in_chunks_and_pads(monkeypatch: pytest.MonkeyPatch) -> None:
    import sealer.tario.write as w
    monkeypatch.setattr(w, "TAR_CHUNK", 7)
    out = io.BytesIO()
    copy_exact(io.BytesIO(b"0123456789" * 3), out, 30, "n")
    assert out.getvalue() == b"0123456789" * 3 + b"\0" * 482


@pytest.mark.parametrize(("data", "n"), [(b"short", 5), (b"longer than said", 10)])
def test_copy_exact_refuses_a_file_that_changed_size(data: bytes, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import sealer.tario.write as w
    monkeypatch.setattr(w, "TAR_CHUNK", 7)
    out = io.BytesIO()
    with pytest.raises(ArchiveError, match=rf"'n' changed while it was read \({n} bytes, header says 10\)"):
        copy_exact(io.BytesIO(data), out, 10, "n")
    assert out.getvalue() == data[:n]              # never more than the header's size


def test_file_that_grew_after_its_header_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"12345")
    with pytest.raises(ArchiveError, match=f"^write layer: '{f}' changed while it was read"):
        write_tar(io.BytesIO(), {"f": Content(size=3, source=f)})


def test_file_whose_size_lies_is_refused() -> None:
    """/proc files stat as 0 bytes and read as more: refused, never a torn entry."""
    with pytest.raises(ArchiveError, match=r"^write layer: 'status' changed while it was read \(0 bytes, header"):
        write_entries(io.BytesIO(), {"status": f"/proc/{os.getpid()}/status"})


def test_sockets_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(root / "sock"))
        with pytest.raises(ArchiveError, match="'sock' is a device or socket"):
            write_tree(io.BytesIO(), root)
    finally:
        s.close()


def test_source_under_a_symlinked_parent_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("f")
    os.symlink(real, tmp_path / "via")
    with pytest.raises(ArchiveError, match="directory was replaced"):
        write_entries(io.BytesIO(), {"f": str(tmp_path / "via" / "f")})


def test_source_missing_or_parent_missing(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=f"^write layer: {tmp_path}/gone: No such file or directory \\(was it "
                                           "changed while the layer was written\\?\\)$"):
        write_entries(io.BytesIO(), {"f": str(tmp_path / "gone")})
    with pytest.raises(ArchiveError, match="open .*nodir"):
        write_entries(io.BytesIO(), {"f": str(tmp_path / "nodir" / "f")})


def test_source_replaced_between_stat_and_read_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("one")
    with _SourceEntry(str(f)) as entry:
        assert stat.S_ISREG(entry.stat.st_mode) and entry.linkname is None
        os.rename(f, tmp_path / "old")
        (tmp_path / "g").write_text("two")
        os.rename(tmp_path / "g", f)
        with pytest.raises(ArchiveError, match=f"^write layer: {f} was replaced while the layer was written$"):
            entry.open()
        os.unlink(f)
        os.symlink("old", f)
        with pytest.raises(ArchiveError, match=rf"^write layer: open {f}: .* \(was it replaced while the layer was "
                                               r"written\?\)$"):
            entry.open()


def test_relative_source_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rel").write_text("r")
    monkeypatch.chdir(tmp_path)
    out = io.BytesIO()
    write_entries(out, {"rel": "rel"})
    assert [(m[0], m[5]) for m in members(out.getvalue())] == [("rel", b"r")]


def test_source_entry_reads_a_symlink_without_following(tmp_path: Path) -> None:
    os.symlink("/nowhere", tmp_path / "l")
    with _SourceEntry(str(tmp_path / "l")) as entry:
        assert stat.S_ISLNK(entry.stat.st_mode) and entry.linkname == "/nowhere"


def test_walk_relative_lists_dirs_and_files_without_following_links(src: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path, src / "b" / "c" / "up")
    assert list(walk_relative(str(src))) == ["b", "a.txt", "b/c", "b/fifo", "b/link", "b/c/up", "b/c/x"]
