"""Deterministic layer tar writing, and safe extraction with OCI whiteouts.

Extraction never writes outside ``dest``: absolute names, ``..``, links pointing outside, writes through a
symlinked parent, and device nodes are refused with ArchiveError. Size and entry-count limits stop tar bombs.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sealer.errors import ArchiveError

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
DEFAULT_MTIME = 0


@dataclass(frozen=True)
class ExtractLimits:
    max_entries: int = 2_000_000
    max_bytes: int = 1 << 42          # 4 TiB of content
    max_name: int = 4096
    allow_devices: bool = False


def _link_target_escapes(link_dir_rel: str, link: str) -> bool:
    """True when a symlink in ``link_dir_rel`` (a directory relative to the extraction root) pointing at
    ``link`` could lead outside the root.

    Absolute targets are taken relative to ``root`` (the rootfs convention). A lexical check alone is not
    enough: in ``s -> l/..`` with ``l -> .`` the kernel resolves ``l`` first, so ``s`` lands above the root
    although ``root/l/..`` is lexically the root. Components *after* the first normal one may be symlinks
    (now, or after a later entry replaces them), so ``..`` is only accepted as a leading run, where it walks
    up the link's own directory chain, which is made of real directories.
    """
    if not link or "\x00" in link:
        return True
    parts = link.split("/")
    depth = 0 if link.startswith("/") else len([p for p in link_dir_rel.split("/") if p])
    seen_normal = False
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if seen_normal or depth == 0:
                return True
            depth -= 1
        else:
            seen_normal = True
            depth += 1
    return False


def clean_member_name(name: str) -> str:
    """Normalise a tar member name to a relative POSIX path; refuse escapes."""
    if "\x00" in name:
        raise ArchiveError(f"extract {name!r}: NUL in entry name")
    p = name.replace("\\", "/")
    if p.startswith("/"):
        raise ArchiveError(f"extract {name!r}: absolute path in archive")
    parts = [x for x in PurePosixPath(p).parts if x not in ("", ".")]
    if any(x == ".." for x in parts):
        raise ArchiveError(f"extract {name!r}: '..' in archive path")
    return "/".join(parts)


def _inside(dest: str, path: str) -> bool:
    return os.path.commonpath([dest, path]) == dest


def _safe_parent(dest: str, rel: str) -> str:
    """Create the parent directories of ``rel`` under ``dest``; refuse when any of them is a symlink
    or not a directory (writing through a symlink could escape)."""
    cur = dest
    parts = rel.split("/")[:-1]
    for part in parts:
        cur = os.path.join(cur, part)
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            os.mkdir(cur, 0o755)
            continue
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(cur)
            if not _inside(dest, target):
                raise ArchiveError(f"extract {rel!r}: parent {part!r} is a symlink leading outside")
            raise ArchiveError(f"extract {rel!r}: parent {part!r} is a symlink; refusing to write through it")
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(cur)
            os.mkdir(cur, 0o755)
    return os.path.join(dest, rel)


def _remove(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


# select(rel_path, size) -> "full" (extract), "skip" (leave out) or "placeholder" (a regular file of the right
# size whose content is not written: a sparse file).
Selector = Callable[[str, int], str]


def extract_layer(fileobj: IO[bytes], dest: str | os.PathLike[str], *, whiteouts: bool = True,
                  limits: ExtractLimits = ExtractLimits(), preserve_owner: bool = False,
                  select: Selector | None = None) -> int:
    """Apply one (uncompressed) layer stream onto ``dest``. Returns the number of entries applied.

    ``select`` extracts part of a layer (every safety check still applies to every entry)."""
    root = os.path.realpath(dest)
    os.makedirs(root, exist_ok=True)
    count = 0
    total = 0
    seen: set[str] = set()
    dir_modes: list[tuple[str, int, int]] = []
    try:
        tf = tarfile.open(fileobj=fileobj, mode="r|")  # noqa: SIM115 - closed in finally
    except tarfile.TarError as e:
        raise ArchiveError(f"extract layer: not a tar stream: {e}") from None
    try:
        for m in tf:
            count += 1
            if count > limits.max_entries:
                raise ArchiveError(f"extract layer: more than {limits.max_entries} entries")
            if len(m.name) > limits.max_name:
                raise ArchiveError("extract layer: entry name too long")
            rel = clean_member_name(m.name)
            if not rel:
                continue
            base = rel.rsplit("/", 1)[-1]
            if whiteouts and base.startswith(WHITEOUT_PREFIX):
                parent_rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
                parent = _safe_parent(root, rel).rsplit("/", 1)[0] if parent_rel else root
                hidden = base[len(WHITEOUT_PREFIX):]
                if base != OPAQUE_WHITEOUT and (hidden in ("", ".", "..") or hidden.startswith(WHITEOUT_PREFIX)):
                    raise ArchiveError(f"extract {m.name!r}: invalid whiteout (it would delete {hidden!r})")
                if base == OPAQUE_WHITEOUT:
                    if os.path.isdir(parent) and not os.path.islink(parent):
                        for child in os.listdir(parent):
                            if os.path.join(parent_rel, child).lstrip("/") not in seen:
                                _remove(os.path.join(parent, child))
                else:
                    _remove(os.path.join(parent, hidden))
                continue
            how = select(rel, m.size if m.isreg() else 0) if select is not None else "full"
            if how == "skip":
                continue
            seen.add(rel)
            target = _safe_parent(root, rel)
            if m.isdir():
                try:
                    st = os.lstat(target)
                    if not stat.S_ISDIR(st.st_mode):
                        _remove(target)
                        os.mkdir(target, 0o755)
                except FileNotFoundError:
                    os.mkdir(target, 0o755)
                dir_modes.append((target, m.mode & 0o7777, int(m.mtime)))
                continue
            _remove(target)
            if m.isreg():
                total += m.size
                if total > limits.max_bytes:
                    raise ArchiveError(f"extract layer: more than {limits.max_bytes} bytes of content")
                src = tf.extractfile(m)
                assert src is not None
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    if how == "placeholder":
                        out.truncate(m.size)
                    else:
                        shutil.copyfileobj(src, out, 1 << 20)
                os.chmod(target, m.mode & 0o7777)
                os.utime(target, (m.mtime, m.mtime))
            elif m.issym():
                link = m.linkname
                resolved = os.path.normpath(os.path.join(os.path.dirname(target), link)) \
                    if not link.startswith("/") else os.path.normpath(os.path.join(root, link.lstrip("/")))
                if not _inside(root, resolved) or _link_target_escapes(rel.rpartition("/")[0], link):
                    raise ArchiveError(f"extract {m.name!r}: symlink to {link!r} leads outside")
                os.symlink(link, target)
            elif m.islnk():
                src_rel = clean_member_name(m.linkname)
                src_path = os.path.join(root, src_rel)
                if not _inside(root, os.path.realpath(src_path)) or os.path.islink(src_path):
                    raise ArchiveError(f"extract {m.name!r}: hard link to {m.linkname!r} leads outside")
                if not os.path.isfile(src_path):
                    raise ArchiveError(f"extract {m.name!r}: hard link to {m.linkname!r}, which is not a "
                                       "regular file extracted earlier")
                os.link(src_path, target)
            elif m.isfifo():
                os.mkfifo(target, m.mode & 0o7777)
            elif m.ischr() or m.isblk():
                if not limits.allow_devices:
                    raise ArchiveError(f"extract {m.name!r}: device node refused")
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(target, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor))
            else:
                raise ArchiveError(f"extract {m.name!r}: unsupported entry type {m.type!r}")
            if preserve_owner and os.geteuid() == 0:
                os.lchown(target, m.uid, m.gid)
    except tarfile.TarError as e:
        raise ArchiveError(f"extract layer: corrupt or truncated archive: {e}") from None
    except EOFError as e:
        raise ArchiveError(f"extract layer: truncated archive: {e}") from None
    except OSError as e:
        raise ArchiveError(f"extract layer: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None
    finally:
        tf.close()
    for path, mode, mtime in reversed(dir_modes):
        # a later entry may have replaced the directory with a symlink: never chmod through it
        try:
            st = os.lstat(path)
        except OSError:  # gone, or a later entry made a parent a non-directory
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        os.chmod(path, mode | 0o700)
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return count


def _tarinfo(src: str, rel: str, st: os.stat_result, mtime: int, linkname: str | None = None) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(rel)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if stat.S_ISDIR(st.st_mode):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = linkname if linkname is not None else os.readlink(src)
    elif stat.S_ISREG(st.st_mode):
        ti.type = tarfile.REGTYPE
        ti.size = st.st_size
    elif stat.S_ISFIFO(st.st_mode):
        ti.type = tarfile.FIFOTYPE
    else:
        raise ArchiveError(f"write layer: {rel!r} is a device or socket; not supported in a layer")
    return ti


def write_tree(out: Any, root: str | os.PathLike[str], paths: Iterable[str] | None = None,
               whiteouts: Iterable[str] = (), mtime: int | None = DEFAULT_MTIME,
               opaque_dirs: Iterable[str] = ()) -> None:
    """Write a deterministic tar stream of ``paths`` (relative, POSIX) under ``root``.

    ``paths=None`` means the whole tree. Entries are sorted, owners 0/0, mtimes fixed (or kept when
    ``mtime`` is None). ``whiteouts`` are relative paths deleted in this layer.
    """
    root_s = os.path.realpath(root)  # canonical: write_entries refuses sources whose parents moved
    if paths is None:
        paths = walk_relative(root_s)
    write_entries(out, {rel: os.path.join(root_s, rel) for rel in paths}, whiteouts, mtime, opaque_dirs)


def write_entries(out: Any, entries: dict[str, str | None],
                  whiteouts: Iterable[str] = (), mtime: int | None = DEFAULT_MTIME,
                  opaque_dirs: Iterable[str] = ()) -> None:
    """Write a deterministic tar of ``entries`` (archive name -> source path on disk, or None for a
    plain 0755 directory). Missing parent directories are added as plain directories."""
    items: dict[str, tuple[str, str | None]] = {}
    for arc, src in entries.items():
        items[arc] = ("f", src)
        parent = arc
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            items.setdefault(parent, ("d", None))
    for rel in whiteouts:
        head, _, tail = rel.rpartition("/")
        items[(head + "/" if head else "") + WHITEOUT_PREFIX + tail] = ("w", None)
        while head:
            items.setdefault(head, ("d", None))
            head = head.rpartition("/")[0]
    for rel in opaque_dirs:
        items[rel + "/" + OPAQUE_WHITEOUT] = ("w", None)
        items.setdefault(rel, ("d", None))
    for arc in sorted(items):
        kind, src = items[arc]
        if kind == "w" or src is None:
            ti = tarfile.TarInfo(arc)
            ti.mtime = mtime or 0
            if kind == "w":
                ti.mode = 0o644
            else:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
            out.write(tar_header(ti))
            continue
        with _SourceEntry(src) as entry:
            st = entry.stat
            ti = _tarinfo(src, arc, st, int(st.st_mtime) if mtime is None else mtime, entry.linkname)
            out.write(tar_header(ti))
            if ti.type == tarfile.REGTYPE:
                with entry.open() as fp:
                    copy_exact(fp, out, ti.size, arc)
    out.write(b"\0" * (2 * tarfile.BLOCKSIZE))


TAR_CHUNK = 1 << 20


def tar_header(ti: tarfile.TarInfo) -> bytes:
    """One USTAR block when the name fits (up to 255 bytes through the prefix field), else PAX: the same
    entry always gives the same bytes, and registry paths avoid PAX's two extra blocks."""
    try:
        return ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    except ValueError:
        return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_padding(n: int) -> bytes:
    rem = n % tarfile.BLOCKSIZE
    return b"\0" * (tarfile.BLOCKSIZE - rem) if rem else b""


def copy_exact(src: IO[bytes], out: Any, size: int, name: str) -> None:
    """Copy exactly ``size`` bytes (in large chunks) plus the tar padding; a file that shrank or grew since its
    header was written is an error, never a torn entry."""
    n = 0
    while n < size and (b := src.read(min(TAR_CHUNK, size - n))):
        out.write(b)
        n += len(b)
    if n != size or src.read(1):
        raise ArchiveError(f"write layer: {name!r} changed while it was read ({n} bytes, header says {size})")
    out.write(tar_padding(size))


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None  # no /proc: the O_NOFOLLOW leaf checks still apply


class _SourceEntry:
    """One source path opened without following symlinks, so a path swapped while a layer is written
    (a directory replaced by a symlink leading elsewhere) is refused instead of read through.

    Callers pass canonical paths (no symlink in any parent: the build plans COPY sources with realpath and
    walks without following links). The parent directory is opened, and the kernel's own name for it must
    still be that path; the leaf is inspected and opened relative to it with O_NOFOLLOW."""

    def __init__(self, src: str) -> None:
        self.src = src
        parent, self.name = os.path.split(src)
        try:
            self._dfd = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise ArchiveError(f"write layer: open {parent}: {e.strerror}") from None
        try:
            actual = _fd_path(self._dfd)
            if parent and actual is not None and actual != os.path.abspath(parent):
                raise ArchiveError(f"write layer: {src}: its directory was replaced while the layer was "
                                   f"written (it now leads to {actual}); refusing to read through it")
            try:
                self.stat = os.stat(self.name, dir_fd=self._dfd, follow_symlinks=False)
                self.linkname = (os.readlink(self.name, dir_fd=self._dfd) if stat.S_ISLNK(self.stat.st_mode)
                                 else None)
            except OSError as e:
                raise ArchiveError(f"write layer: {src}: {e.strerror} (was it changed while the layer was "
                                   "written?)") from None
        except BaseException:
            os.close(self._dfd)
            raise

    def open(self) -> IO[bytes]:
        try:
            fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._dfd)
        except OSError as e:
            raise ArchiveError(f"write layer: open {self.src}: {e.strerror} (was it replaced while the layer "
                               "was written?)") from None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (self.stat.st_dev, self.stat.st_ino):
            os.close(fd)
            raise ArchiveError(f"write layer: {self.src} was replaced while the layer was written")
        return os.fdopen(fd, "rb")

    def __enter__(self) -> _SourceEntry:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._dfd)


def walk_relative(root: str) -> Iterable[str]:
    """Every path below root (relative, POSIX), directories included, symlinks not followed."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(dirnames) + sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            yield rel.replace(os.sep, "/")
        # os.walk does not descend into symlinked dirs by default
        dirnames.sort()


def safe_join(root: str | os.PathLike[str], rel: str) -> Path:
    """Join a relative path under root; refuse escapes (lexically and through symlinks)."""
    root_s = os.path.realpath(root)
    clean = clean_member_name(rel)
    full = os.path.realpath(os.path.join(root_s, clean))
    if not _inside(root_s, full):
        raise ArchiveError(f"resolve {rel!r}: leads outside {root_s}")
    return Path(full)
