"""extract_layer and its checks, one behaviour per test, on tars built here with the standard library's tarfile
(an independent writer); the results are read back with os.lstat/open, never with our own readers."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from sealer.errors import ArchiveError
from sealer.tario.extract import ExtractLimits, clean_member_name, extract_layer


def _entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", mode: int = 0o644, mtime: int = 1_000_000,
           link: str = "", uid: int = 0, gid: int = 0, dev: tuple[int, int] = (0, 0)) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = mtime
    ti.linkname = link
    ti.uid, ti.gid = uid, gid
    ti.devmajor, ti.devminor = dev
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    return ti, data


def tar(*entries: tuple[tarfile.TarInfo, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    buf.seek(0)
    return buf


def f(name: str, data: bytes = b"x", **kw: object) -> tuple[tarfile.TarInfo, bytes]:
    return _entry(name, tarfile.REGTYPE, data, **kw)  # type: ignore[arg-type]


def d(name: str, **kw: object) -> tuple[tarfile.TarInfo, bytes]:
    kw.setdefault("mode", 0o755)
    return _entry(name, tarfile.DIRTYPE, **kw)  # type: ignore[arg-type]


def sym(name: str, link: str) -> tuple[tarfile.TarInfo, bytes]:
    return _entry(name, tarfile.SYMTYPE, link=link, mode=0o777)


def hard(name: str, link: str) -> tuple[tarfile.TarInfo, bytes]:
    return _entry(name, tarfile.LNKTYPE, link=link)


def wh(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return f(name, b"")


@pytest.fixture
def r(tmp_path: Path) -> Path:
    """The extraction root (tmp_path itself also holds the tests' isolated HOME)."""
    return tmp_path / "root"


def tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath, n)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes().decode()
    return out


def test_files_dirs_modes_and_mtimes(tmp_path: Path) -> None:
    n = extract_layer(tar(d("a", mode=0o750, mtime=111), f("a/f", b"hello", mode=0o640, mtime=222),
                          f("top", b"t", mode=0o4755)), tmp_path / "r")
    r = tmp_path / "r"
    assert n == 3
    assert tree(r) == {"a": "dir", "a/f": "hello", "top": "t"}
    st = os.lstat(r / "a/f")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_mtime == 222
    assert stat.S_IMODE(os.lstat(r / "top").st_mode) == 0o4755
    st = os.lstat(r / "a")
    assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_mtime == 111


def test_directory_mode_keeps_owner_access_and_implicit_parents(tmp_path: Path) -> None:
    extract_layer(tar(d("ro", mode=0o500), f("ro/x/y", b"y")), tmp_path)
    assert stat.S_IMODE(os.lstat(tmp_path / "ro").st_mode) == 0o700   # 0500 | 0700: still writable by us
    assert stat.S_IMODE(os.lstat(tmp_path / "ro/x").st_mode) == 0o755  # a parent no entry names
    assert (tmp_path / "ro/x/y").read_bytes() == b"y"


def test_root_entry_is_skipped_not_the_end(r: Path) -> None:
    assert extract_layer(tar(d("./"), f("a"), d("."), f("b")), r) == 4
    assert tree(r) == {"a": "x", "b": "x"}


class _Stream:
    """A non-seekable stream (a pipe, a registry response): only read()."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._b.read(n)


def test_extracts_from_a_stream_that_cannot_seek(r: Path) -> None:
    assert extract_layer(_Stream(tar(f("a/b", b"streamed"), wh("a/.wh.c")).getvalue()), r) == 2  # type: ignore[arg-type]
    assert tree(r) == {"a": "dir", "a/b": "streamed"}


def test_count_includes_whiteouts_and_skipped_entries(r: Path) -> None:
    n = extract_layer(tar(f("a"), wh(".wh.zz"), f("b"), d(".")), r, select=lambda rel, _: "skip" if rel == "b" else "full")
    assert n == 4
    assert sorted(os.listdir(r)) == ["a"]


@pytest.mark.parametrize(("name", "want"), [("./a//b/./c", "a/b/c"), ("a\\b", "a/b"), (".", ""), ("./", ""),
                                            ("a/", "a")])
def test_clean_member_name(name: str, want: str) -> None:
    assert clean_member_name(name) == want


@pytest.mark.parametrize(("name", "why"), [("/etc/passwd", "absolute"), ("\\etc\\x", "absolute"),
                                           ("a/../../x", "'..'"), ("..", "'..'"), ("a\x00b", "NUL")])
def test_clean_member_name_refuses(name: str, why: str) -> None:
    with pytest.raises(ArchiveError, match=why):
        clean_member_name(name)


def test_file_whiteout_removes_file_and_directory_whiteout_removes_tree(r: Path) -> None:
    extract_layer(tar(d("d"), f("d/sub/deep"), f("keep/gone"), f("keep/stay"), f("other")), r)
    extract_layer(tar(wh(".wh.d"), wh("keep/.wh.gone"), wh(".wh.absent")), r)
    assert tree(r) == {"keep": "dir", "keep/stay": "x", "other": "x"}


def test_whiteout_of_symlink_removes_the_link_not_its_target(r: Path) -> None:
    extract_layer(tar(d("real"), f("real/x"), sym("l", "real")), r)
    extract_layer(tar(wh(".wh.l")), r)
    assert tree(r) == {"real": "dir", "real/x": "x"}


def test_whiteouts_off_keeps_whiteout_files(r: Path) -> None:
    extract_layer(tar(f("a"), f("d/b")), r)
    extract_layer(tar(wh(".wh.a"), wh("d/.wh..wh..opq")), r, whiteouts=False)
    assert tree(r) == {"a": "x", ".wh.a": "", "d": "dir", "d/b": "x", "d/.wh..wh..opq": ""}


def test_opaque_whiteout_hides_lower_children_keeps_this_layers(r: Path) -> None:
    extract_layer(tar(f("d/old"), f("d/sub/deep"), f("e/keep"), f("top")), r)
    extract_layer(tar(f("d/new", b"n"), wh("d/.wh..wh..opq")), r)
    assert tree(r) == {"d": "dir", "d/new": "n", "e": "dir", "e/keep": "x", "top": "x"}


def test_whiteouts_two_levels_down(r: Path) -> None:
    extract_layer(tar(f("a/b/gone"), f("a/b/old"), f("a/b/stay"), f("a/keep")), r)
    extract_layer(tar(wh("a/b/.wh.gone")), r)
    assert tree(r) == {"a": "dir", "a/b": "dir", "a/b/old": "x", "a/b/stay": "x", "a/keep": "x"}
    extract_layer(tar(f("a/b/new", b"n"), f("a/b2", b"s"), wh("a/b/.wh..wh..opq")), r)
    assert tree(r) == {"a": "dir", "a/b": "dir", "a/b/new": "n", "a/b2": "s", "a/keep": "x"}


def test_opaque_whiteout_at_the_root(r: Path) -> None:
    extract_layer(tar(f("a"), f("b/c")), r)
    extract_layer(tar(f("n", b"n"), wh(".wh..wh..opq")), r)
    assert tree(r) == {"n": "n"}


def test_opaque_whiteout_of_a_missing_directory_creates_it_empty(r: Path) -> None:
    extract_layer(tar(f("a")), r)
    extract_layer(tar(wh("x/.wh..wh..opq")), r)
    assert tree(r) == {"a": "x", "x": "dir"}


@pytest.mark.parametrize("name", [".wh.", ".wh..", ".wh...", "d/.wh..", ".wh..wh.x", ".wh..wh..opqx"])
def test_invalid_whiteouts_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_text("k")
    with pytest.raises(ArchiveError, match="invalid whiteout"):
        extract_layer(tar(wh(name)), tmp_path)
    assert (tmp_path / "d" / "keep").read_text() == "k"


def test_file_replaces_directory_and_directory_replaces_file(r: Path) -> None:
    extract_layer(tar(f("a/x"), f("b", b"file")), r)
    extract_layer(tar(f("a", b"now a file"), d("b", mode=0o711)), r)
    assert tree(r) == {"a": "now a file", "b": "dir"}
    assert stat.S_IMODE(os.lstat(r / "b").st_mode) == 0o711


def test_file_under_a_path_that_was_a_file_makes_it_a_directory(r: Path) -> None:
    extract_layer(tar(f("p", b"file")), r)
    extract_layer(tar(f("p/q", b"q")), r)
    assert tree(r) == {"p": "dir", "p/q": "q"}


def test_existing_directory_is_kept_with_its_children(r: Path) -> None:
    extract_layer(tar(f("a/x")), r)
    extract_layer(tar(d("a", mode=0o751), f("a/y")), r)
    assert tree(r) == {"a": "dir", "a/x": "x", "a/y": "x"}
    assert stat.S_IMODE(os.lstat(r / "a").st_mode) == 0o751


def test_file_overwrites_file_and_symlink_without_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("safe")
    root = tmp_path / "r"
    root.mkdir()
    os.symlink(str(outside), root / "l")
    extract_layer(tar(f("l", b"new"), f("l", b"newer")), root)
    assert (root / "l").read_bytes() == b"newer" and not (root / "l").is_symlink()
    assert outside.read_text() == "safe"


def test_symlinks_inside_are_created(tmp_path: Path) -> None:
    extract_layer(tar(f("etc/conf"), sym("abs", "/etc/conf"), sym("d/rel", "../etc/conf"), sym("dot", "./etc"),
                      sym("x", "etc//conf")), tmp_path)
    assert os.readlink(tmp_path / "abs") == "/etc/conf"
    assert os.readlink(tmp_path / "d/rel") == "../etc/conf"
    assert os.readlink(tmp_path / "dot") == "./etc"
    assert os.readlink(tmp_path / "x") == "etc//conf"


@pytest.mark.parametrize(("name", "link"), [("l", ".."), ("d/l", "../.."), ("l", "a/../.."), ("l", ""),
                                            ("d/l", "x/../.."), ("l", "/../x"), ("d/e/l", "../../../etc"),
                                            ("s", "l/..")])
def test_symlinks_leading_outside_are_refused(tmp_path: Path, name: str, link: str) -> None:
    root = tmp_path / "r"
    with pytest.raises(ArchiveError, match="leads outside"):
        extract_layer(tar(sym(name, link)), root)
    assert not os.path.lexists(root / name)


@pytest.mark.parametrize(("name", "link"), [("d/l", ".."), ("d/e/l", "../../x"), ("d/l", "../d/../x")])
def test_symlinks_with_leading_dotdot_inside_are_accepted(tmp_path: Path, name: str, link: str) -> None:
    if link == "../d/../x":
        with pytest.raises(ArchiveError, match="leads outside"):   # '..' after a normal part may cross a link
            extract_layer(tar(sym(name, link)), tmp_path)
        return
    extract_layer(tar(sym(name, link)), tmp_path)
    assert os.readlink(tmp_path / name) == link


def test_symlinked_parent_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "r"
    with pytest.raises(ArchiveError, match="symlink leading outside"):
        extract_layer(_escape_through_existing_link(root, outside), root)
    assert list(outside.iterdir()) == []
    (root / "inner").mkdir()
    with pytest.raises(ArchiveError, match="is a symlink; refusing"):
        extract_layer(tar(sym("in", "inner"), f("in/f")), root)
    assert list((root / "inner").iterdir()) == []


def _escape_through_existing_link(root: Path, outside: Path) -> io.BytesIO:
    root.mkdir()
    os.symlink(str(outside), root / "esc")
    return tar(f("esc/f"))


def _root_linked_outside(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    """(root, outside): ``outside/name`` holds ``text``; ``root/l`` is a symlink to ``outside``."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / name).write_text(text)
    root = tmp_path / "r"
    root.mkdir()
    os.symlink(str(outside), root / "l")
    return root, outside


def test_whiteout_through_symlinked_parent_is_refused(tmp_path: Path) -> None:
    root, outside = _root_linked_outside(tmp_path, "victim", "v")
    with pytest.raises(ArchiveError, match="symlink"):
        extract_layer(tar(wh("l/.wh.victim")), root)
    with pytest.raises(ArchiveError, match="symlink"):
        extract_layer(tar(wh("l/.wh..wh..opq")), root)
    assert (outside / "victim").read_text() == "v"


def test_hard_links(tmp_path: Path) -> None:
    extract_layer(tar(f("a", b"data"), hard("b", "a"), hard("./c", "./a")), tmp_path)
    assert os.lstat(tmp_path / "a").st_ino == os.lstat(tmp_path / "b").st_ino == os.lstat(tmp_path / "c").st_ino
    assert os.lstat(tmp_path / "a").st_nlink == 3


@pytest.mark.parametrize(("entries", "why"), [
    ([hard("b", "missing")], "not a regular file"),
    ([d("dir"), hard("b", "dir")], "not a regular file"),
    ([f("a"), sym("s", "a"), hard("b", "s")], "leads outside"),
    ([hard("b", "../x")], "'..'"),
    ([hard("b", "/etc/passwd")], "absolute"),
])
def test_bad_hard_links_are_refused(tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes]], why: str) -> None:
    with pytest.raises(ArchiveError, match=why):
        extract_layer(tar(*entries), tmp_path / "r")
    assert not os.path.lexists(tmp_path / "r" / "b")


def test_hard_link_to_a_file_outside_through_a_symlinked_dir_is_refused(tmp_path: Path) -> None:
    root, outside = _root_linked_outside(tmp_path, "secret", "s")
    with pytest.raises(ArchiveError, match="leads outside"):
        extract_layer(tar(hard("b", "l/secret")), root)
    assert os.lstat(outside / "secret").st_nlink == 1


def test_fifo_and_devices(tmp_path: Path) -> None:
    extract_layer(tar(_entry("p", tarfile.FIFOTYPE, mode=0o640)), tmp_path)
    st = os.lstat(tmp_path / "p")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    for kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        with pytest.raises(ArchiveError, match="device node refused"):
            extract_layer(tar(_entry("dev", kind, dev=(1, 3))), tmp_path)
        assert not os.path.lexists(tmp_path / "dev")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_devices_allowed_when_asked(tmp_path: Path) -> None:
    lim = ExtractLimits(allow_devices=True)
    extract_layer(tar(_entry("null", tarfile.CHRTYPE, mode=0o644, dev=(1, 3)),
                      _entry("blk", tarfile.BLKTYPE, mode=0o600, dev=(7, 0))), tmp_path, limits=lim)
    st = os.lstat(tmp_path / "null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o644   # under the umask, like mkfifo
    st = os.lstat(tmp_path / "blk")
    assert stat.S_ISBLK(st.st_mode) and os.major(st.st_rdev) == 7 and stat.S_IMODE(st.st_mode) == 0o600


def test_unsupported_entry_type_is_refused(tmp_path: Path) -> None:
    ti, _ = _entry("x", b"Z")
    with pytest.raises(ArchiveError, match="unsupported entry type"):
        extract_layer(tar((ti, b"")), tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owners_only_when_preserved(tmp_path: Path) -> None:
    layer = [f("f", uid=1234, gid=2345), sym("l", "f")]
    extract_layer(tar(*layer), tmp_path / "a")
    st = os.lstat(tmp_path / "a/f")
    assert (st.st_uid, st.st_gid) == (0, 0)
    extract_layer(tar(f("f", uid=1234, gid=2345), _entry("l", tarfile.SYMTYPE, link="f", uid=77, gid=88)),
                  tmp_path / "b", preserve_owner=True)
    st = os.lstat(tmp_path / "b/f")
    assert (st.st_uid, st.st_gid) == (1234, 2345)
    st = os.lstat(tmp_path / "b/l")
    assert (st.st_uid, st.st_gid) == (77, 88)       # the link itself, not its target
    assert os.lstat(tmp_path / "b/f").st_uid == 1234


def test_limits(tmp_path: Path) -> None:
    ok = ExtractLimits(max_entries=2, max_bytes=10, max_name=5)
    assert extract_layer(tar(f("abcde", b"0123456789"), f("b", b"")), tmp_path / "ok", limits=ok) == 2
    with pytest.raises(ArchiveError, match="more than 2 entries"):
        extract_layer(tar(f("a"), f("b"), f("c")), tmp_path / "n", limits=ok)
    with pytest.raises(ArchiveError, match="more than 10 bytes"):
        extract_layer(tar(f("a", b"012345"), f("b", b"6789X")), tmp_path / "s", limits=ok)
    assert not (tmp_path / "s" / "b").exists()
    with pytest.raises(ArchiveError, match="^extract layer: entry name too long$"):
        extract_layer(tar(f("abcdef")), tmp_path / "l", limits=ok)
    assert extract_layer(tar(d("a"), d("b"), f("c", b"")), tmp_path / "d", limits=ExtractLimits(max_bytes=0)) == 3


def test_select_skip_and_placeholder(r: Path) -> None:
    seen: list[tuple[str, int]] = []

    def select(rel: str, size: int) -> str:
        seen.append((rel, size))
        return {"big": "placeholder", "skip": "skip"}.get(rel, "full")

    sl = sym("sl", "keep")
    sl[0].size = 4096          # a size field on a symlink header carries no data: select is told 0
    extract_layer(tar(f("big", b"B" * 5000, mode=0o600), f("skip", b"s"), f("keep", b"k"), d("dd"),
                      sl), r, select=select)
    assert seen == [("big", 5000), ("skip", 1), ("keep", 1), ("dd", 0), ("sl", 0)]
    big = r / "big"
    assert big.stat().st_size == 5000 and big.read_bytes() == b"\0" * 5000
    assert stat.S_IMODE(big.stat().st_mode) == 0o600
    assert tree(r) == {"big": "\0" * 5000, "keep": "k", "dd": "dir", "sl": "-> keep"}


def test_skipped_entry_does_not_protect_from_opaque_whiteout(r: Path) -> None:
    extract_layer(tar(f("d/old")), r)
    extract_layer(tar(f("d/s"), f("d/k"), wh("d/.wh..wh..opq")), r,
                  select=lambda r, s: "skip" if r == "d/s" else "full")
    assert tree(r) == {"d": "dir", "d/k": "x"}


@pytest.mark.parametrize("data", [b"", b"not a tar at all" * 40])
def test_not_a_tar(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(ArchiveError, match="not a tar stream|corrupt"):
        extract_layer(io.BytesIO(data), tmp_path)


def test_truncated_tar(tmp_path: Path) -> None:
    raw = tar(f("a", b"A" * 3000), f("b", b"B" * 3000)).getvalue()
    with pytest.raises(ArchiveError, match="truncated|corrupt"):
        extract_layer(io.BytesIO(raw[:2048]), tmp_path)


def test_os_error_becomes_archive_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="^extract layer: File name too long: /.*/aaaa+$"):
        extract_layer(tar(f("a" * 300)), tmp_path)


def test_later_symlink_over_a_directory_is_not_chmodded_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o755)
    os.chmod(outside, 0o755)
    root = tmp_path / "r"
    # an absolute target is read relative to the rootfs, so the link is accepted; the host path must not change
    extract_layer(tar(d("a", mode=0o700), sym("a", str(outside))), root)
    assert os.readlink(root / "a") == str(outside)
    assert stat.S_IMODE(os.lstat(outside).st_mode) == 0o755
    extract_layer(tar(d("b", mode=0o711), d("c", mode=0o700), wh(".wh.c"), sym("c", "b")), root)
    assert os.path.islink(root / "c")
    assert stat.S_IMODE(os.lstat(root / "b").st_mode) == 0o711     # earlier directories still get their modes


def test_directory_removed_later_in_the_layer_is_skipped_when_fixing_modes(r: Path) -> None:
    extract_layer(tar(d("keep", mode=0o711), d("a", mode=0o700), f("a/x"), wh(".wh.a"), f("z")), r)
    assert tree(r) == {"keep": "dir", "z": "x"}
    assert stat.S_IMODE(os.lstat(r / "keep").st_mode) == 0o711


def test_truncated_compressed_stream(r: Path) -> None:
    import gzip
    gz = gzip.compress(tar(f("a", os.urandom(20000)), f("b", b"b")).getvalue())
    with pytest.raises(ArchiveError, match="^extract layer: (truncated|corrupt or truncated) archive: "):
        extract_layer(gzip.GzipFile(fileobj=io.BytesIO(gz[: len(gz) // 2])), r)  # type: ignore[arg-type]


@pytest.mark.parametrize(("link_dir", "link", "escapes"), [
    ("", "a\x00b", True), ("", "", True),
    ("d", "/..", True), ("d/e", "/../x", True), ("d", "/x/../y", True), ("d", "/x/./y", False),
    ("d/e", "..//..", False), ("d", "./..", False), ("", "./..", True), ("d", ".//./../x", False),
    ("d/e", "../../..", True), ("d", "../..", True), ("d/e", "../..", False), ("d/e/f", "../../../x", False),
    ("d", "x/..", True), ("/d/", "..", False), ("d//e", "../../x", False),
])
def test_link_target_escape_rule(link_dir: str, link: str, escapes: bool) -> None:
    """The rule of _link_target_escapes' docstring: '..' only as a leading run, and never above the root;
    absolute targets count from the root."""
    from sealer.tario.extract import _link_target_escapes
    assert _link_target_escapes(link_dir, link) is escapes


def test_implicit_parents_are_0755_whatever_the_umask(r: Path) -> None:
    old = os.umask(0)
    try:
        extract_layer(tar(f("a/b/c", b"c"), wh("w/x/.wh.y")), r)
    finally:
        os.umask(old)
    for p in ("a", "a/b", "w", "w/x"):
        assert stat.S_IMODE(os.lstat(r / p).st_mode) == 0o755, p
