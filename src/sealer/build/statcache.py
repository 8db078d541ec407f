"""The build context's stat cache: a file whose stat did not change is not read again to key the layer cache.

Like BuildKit's content-hash cache (and git's index), each regular file a COPY hashed is remembered as
``(path, size, mtime_ns, ctime_ns, inode, mode, dev) -> sha256 of its bytes`` in
``STORE/cache/context-stat/<sha256(context)[:32]>.json``, one file per build context. The next build lstat()s every
source (it does that anyway to plan the COPY) and re-reads only files whose stat tuple changed.

Correctness rule (what decides, what is detected):

- **Content decides**, as before: the digest recorded is of the bytes; a stat change only means "read again". A
  touched-but-unchanged file (new mtime, same bytes) is re-hashed, gets the same digest, and the layer cache hits.
- **A file changed in place** keeping its size, with its mtime restored (``touch -r``, ``os.utime``), is detected:
  every write, chmod, rename-over or utime sets the inode's **ctime** to the current time, and ctime cannot be set
  by users. A renamed or replaced file has another path or inode; a mode change changes ``mode`` (and ctime).
- **Racy entries** (git's rule): a timestamp only tells changes apart when they fall in different clock ticks. An
  entry is trusted only when the file's mtime and ctime are more than :data:`RACY_NS` (1 s, the coarsest common
  granularity: ext3, HFS+, many network filesystems) older than the moment its bytes were read; otherwise the file
  is read again at the next build, and recorded once it has settled. So a write that lands in the same tick as
  the recorded ctime -- the only write a ctime comparison could miss -- cannot have happened after the read.
- **Swaps while reading**: the file is opened without following symlinks and fstat()ed before and after reading;
  if the inode, size or timestamps differ from the lstat() the plan used, the digest is used for this build but
  not recorded. The stat cache never decides what goes *into* a layer: the layer writer re-opens and re-checks
  every path (``sealer.tario``), and the symlink-escape checks of :mod:`sealer.build.context` run on every build.

What it does not detect, and why that is acceptable: a filesystem without a real ctime (some FUSE and network
filesystems report ctime = mtime or a constant) together with a writer that restores the mtime and keeps the size;
a clock set back by more than a second between two builds, followed by such a write landing exactly on the
recorded ctime; and raw writes to the block device behind the filesystem. Each needs deliberate effort by someone
who can already write the build context, which the build trusts anyway; ``--no-cache`` and ``sealer rmi --prune``
(which removes ``cache/context-stat/``) re-read everything.

The file is written atomically (temp file + rename) under a file lock, merged with what concurrent builds wrote;
it is bounded (:data:`MAX_ENTRIES` per context, :data:`MAX_CONTEXTS` files); a file that is torn, edited, or whose
checksum line does not match its body is ignored and rewritten, never trusted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import time
from pathlib import Path

from filelock import FileLock, Timeout

from sealer.store.fsutil import atomic_write

log = logging.getLogger(__name__)

RACY_NS = 1_000_000_000          # a timestamp within this distance of the read is not trusted (see above)
MAX_ENTRIES = 200_000            # per context file; the oldest readings are dropped first
MAX_CONTEXTS = 64                # context files kept; the least recently written are removed
MAX_FILE_BYTES = 64 << 20        # a larger file is not loaded (ignored, then rewritten)
_MAGIC = b"sealer-statcache 1 "
_HEX64 = re.compile(r"[0-9a-f]{64}")

# key of an entry: the stat fields that must all be equal for the recorded digest to be used
StatKey = tuple[int, int, int, int, int, int]      # size, mtime_ns, ctime_ns, ino, mode, dev
Entry = tuple[int, int, int, int, int, int, str, int]   # StatKey + (digest, read_at_ns)


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, st.st_dev)


def settled(key: StatKey, read_at_ns: int) -> bool:
    """True when the file's timestamps are older than one granularity before its bytes were read."""
    return max(key[1], key[2]) < read_at_ns - RACY_NS


class StatCache:
    """Recorded digests of one build context. ``path=None``: in memory only (this process)."""

    def __init__(self, path: Path | None = None, trust: bool = True) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.new: dict[str, Entry] = {}
        self.dropped: set[str] = set()   # read again and not recordable (racy, changed while read): forget them
        self.hits = 0
        self.reads = 0
        if path is not None and trust:    # trust=False (--no-cache): read every file, record for next time
            self.entries = _load(path)

    @classmethod
    def for_context(cls, cache_dir: Path, context: str, trust: bool = True) -> StatCache:
        name = hashlib.sha256(os.path.realpath(context).encode()).hexdigest()[:32]
        return cls(cache_dir / f"{name}.json", trust)

    def digest(self, path: str, st: os.stat_result) -> str:
        """sha256 (hex) of the regular file ``path`` whose lstat() is ``st``; read only if the stat changed."""
        key = stat_key(st)
        got = self.entries.get(path)
        if got is not None and got[:6] == key and settled(key, got[7]):
            self.hits += 1
            return got[6]
        self.reads += 1
        read_at = time.time_ns()
        digest, same = _read_digest(path, st)
        if same and settled(key, read_at):
            entry: Entry = (*key, digest, read_at)
            self.entries[path] = entry
            self.new[path] = entry
            self.dropped.discard(path)
        else:
            self.entries.pop(path, None)
            self.new.pop(path, None)
            self.dropped.add(path)
        return digest

    def save(self) -> None:
        """Merge this build's readings into the file (atomically, under its lock); nothing to do when none."""
        if self.path is None or not (self.new or self.dropped):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock", timeout=30):
                merged = _load(self.path)      # what concurrent builds recorded meanwhile
                for p in self.dropped:
                    merged.pop(p, None)
                for p, e in self.new.items():
                    old = merged.get(p)
                    if old is None or old[7] <= e[7]:
                        merged[p] = e
                if len(merged) > MAX_ENTRIES:
                    keep = sorted(merged.items(), key=lambda kv: kv[1][7])[-MAX_ENTRIES:]
                    merged = dict(keep)
                body = json.dumps({"entries": merged}, separators=(",", ":")).encode()
                atomic_write(self.path, _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            self.new, self.dropped = {}, set()
            _prune(self.path)
        except (OSError, Timeout) as e:   # the stat cache is an optimisation: a build never fails for it
            log.debug("stat cache %s not saved: %s", self.path, e)


def _read_digest(path: str, st: os.stat_result) -> tuple[str, bool]:
    """Digest of the bytes read, and whether the file opened was the one ``st`` describes, unchanged throughout."""
    # O_NOFOLLOW: a file swapped for a symlink fails (ELOOP); O_NONBLOCK: one swapped for a fifo does not hang
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise OSError(errno.EINVAL, "no longer a regular file", path)
        h = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as f:
            while b := f.read(1 << 20):
                h.update(b)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    want = stat_key(st)
    return h.hexdigest(), stat_key(before) == want and stat_key(after) == want


def _load(path: Path) -> dict[str, Entry]:
    """The entries of ``path``; empty when it is missing, too large, torn or fails any check (never trusted)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return {}
    try:
        if len(data) > MAX_FILE_BYTES or not data.startswith(_MAGIC):
            raise ValueError("not a stat cache file")
        head, _, body = data.partition(b"\n")
        if head[len(_MAGIC):].decode() != hashlib.sha256(body).hexdigest():
            raise ValueError("checksum mismatch")
        raw = json.loads(body)["entries"]
        if not isinstance(raw, dict):
            raise ValueError("entries")
        out: dict[str, Entry] = {}
        for p, e in raw.items():
            if not (isinstance(p, str) and isinstance(e, list) and len(e) == 8
                    and all(type(x) is int and x >= 0 for i, x in enumerate(e) if i != 6)
                    and isinstance(e[6], str) and _HEX64.fullmatch(e[6]) and stat.S_ISREG(e[4])):
                raise ValueError(f"bad entry for {p!r}")
            out[p] = (e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7])
        return out
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        log.warning("ignoring the damaged build stat cache %s (%s); the context is read again", path, e)
        return {}


def _prune(keep: Path) -> None:
    with contextlib.suppress(OSError):
        files = [p for p in keep.parent.glob("*.json") if p != keep]
        if len(files) < MAX_CONTEXTS:
            return
        files.sort(key=lambda p: p.stat().st_mtime_ns)
        for p in files[:len(files) - MAX_CONTEXTS + 1]:
            with contextlib.suppress(OSError):
                p.unlink()
