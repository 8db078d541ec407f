"""The one deterministic tar writer: layers of the build (files from disk, read without following links, plus
whiteouts) and of the image cache (fixed-mode content: bytes, or a verified file copied in large chunks)."""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sealer.errors import ArchiveError
from sealer.tario.extract import OPAQUE_WHITEOUT, WHITEOUT_PREFIX

DEFAULT_MTIME = 0


@dataclass(frozen=True)
class Directory:
    """A plain 0755 directory."""


@dataclass(frozen=True)
class FromDisk:
    """The file, directory, symlink or FIFO at ``path`` (canonical), with its own mode."""

    path: str


@dataclass(frozen=True)
class Content:
    """A 0644 regular file of ``size`` bytes: ``data``, or the file at ``source``; ``produce`` may write the
    ``size`` bytes itself (returns False to have ``source`` copied instead)."""

    size: int = 0
    data: bytes | None = None
    source: Path | None = None
    produce: Callable[[Any], bool] | None = None


Member = Directory | FromDisk | Content
DIRECTORY = Directory()
WHITEOUT = Content()


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
    members: dict[str, Member] = {arc: (FromDisk(src) if src is not None else DIRECTORY) for arc, src in entries.items()}
    for rel in whiteouts:
        head, _, tail = rel.rpartition("/")
        members[(head + "/" if head else "") + WHITEOUT_PREFIX + tail] = WHITEOUT
    for rel in opaque_dirs:
        members[rel + "/" + OPAQUE_WHITEOUT] = WHITEOUT
    write_tar(out, members, mtime)


def write_tar(out: Any, members: Mapping[str, Member], mtime: int | None = DEFAULT_MTIME) -> None:
    """The one deterministic tar writer: ``members`` by archive name, every missing parent added as a 0755
    directory, names sorted, owners 0/0, mtimes ``mtime`` (files from disk keep theirs when it is None), USTAR
    headers (PAX when a name needs it). The same members always give the same bytes."""
    names: dict[str, Member] = dict(members)
    for name in members:
        parent = name
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            names.setdefault(parent, DIRECTORY)
    for arc in sorted(names):
        m = names[arc]
        if isinstance(m, FromDisk):
            with _SourceEntry(m.path) as entry:
                st = entry.stat
                ti = _tarinfo(m.path, arc, st, int(st.st_mtime) if mtime is None else mtime, entry.linkname)
                out.write(tar_header(ti))
                if ti.type == tarfile.REGTYPE:
                    with entry.open() as fp:
                        copy_exact(fp, out, ti.size, arc)
            continue
        ti = tarfile.TarInfo(arc)
        ti.mtime = mtime or 0
        if isinstance(m, Directory):
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            out.write(tar_header(ti))
            continue
        ti.mode = 0o644
        ti.size = m.size
        out.write(tar_header(ti))
        if m.data is not None:
            out.write(m.data)
            out.write(tar_padding(len(m.data)))
        elif m.source is not None:
            if m.produce is not None and m.produce(out):   # wrote exactly m.size verified bytes itself
                out.write(tar_padding(m.size))
                continue
            with open(m.source, "rb") as fp:
                copy_exact(fp, out, m.size, str(m.source))
    out.write(b"\0" * (2 * tarfile.BLOCKSIZE))  # end of archive; no record padding (not needed by readers)


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
