"""Safe extraction of layer tars with OCI whiteouts.

Extraction never writes outside ``dest``: absolute names, ``..``, links pointing outside, writes through a
symlinked parent, and device nodes are refused with ArchiveError. Size and entry-count limits stop tar bombs.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from sealer.errors import ArchiveError

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"


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
