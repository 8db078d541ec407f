"""Ordinary OS failures as one-line messages naming the path and the cause. Pure: no I/O.

ENOENT, EISDIR, ENOTDIR, EACCES, ENOSPC, EPIPE, EROFS... are mistakes or conditions of the machine, not bugs:
they are reported as ``VERB PATH: cause`` (exit 1), never as "internal error".
"""

from __future__ import annotations

import errno
import os

_CAUSES = {
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "not a directory (a path component is a file)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EPIPE: "broken pipe (the reader went away)",
    errno.EEXIST: "already exists",
    errno.ENOTEMPTY: "directory not empty",
    errno.EMFILE: "too many open files",
    errno.ENAMETOOLONG: "file name too long",
    errno.EIO: "input/output error",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EXDEV: "cross-device link",
}

# errors about the machine's state, worth a hint
_HINTS = {
    errno.ENOSPC: "free some space (sealer gc) or use --root on a larger disk",
    errno.EDQUOT: "free some space (sealer gc) or use --root on a larger disk",
    errno.EROFS: "use --root on a writable file system",
}


def cause(e: OSError) -> str:
    if e.errno in _CAUSES:
        return _CAUSES[e.errno]
    return (e.strerror or os.strerror(e.errno) if e.errno else str(e)).lower() or type(e).__name__


def describe(e: OSError, verb: str = "", path: str | os.PathLike[str] | None = None) -> str:
    """``verb path: cause (hint)``; ``path`` defaults to the one the error carries."""
    where = path if path is not None else e.filename
    parts = [p for p in (verb, str(where) if where is not None else "") if p]
    head = " ".join(parts)
    if e.filename2 is not None and path is None:
        head += f" -> {e.filename2}"
    text = f"{head}: {cause(e)}" if head else cause(e)
    hint = _HINTS.get(e.errno or 0)
    return f"{text} ({hint})" if hint else text


WRITE_SIDE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
