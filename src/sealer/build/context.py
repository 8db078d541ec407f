"""The build context: resolving COPY sources safely and hashing their content for the cache.

Rules (sealer's): ``dest`` is a directory in the rootfs (``.``/``./`` = rootfs root, ``/bin`` = ``bin``); each
source lands in it under its own base name (a directory source keeps its name: ``COPY apollo charts`` gives
``charts/apollo``); ``COPY . dest`` copies the context's contents. Globs (``*.yaml``, ``**/*.yaml``) match in the
context with docker's syntax; ``.sealerignore`` (``.dockerignore`` semantics, see :mod:`sealer.build.ignore`)
applies to every form: explicit names, globs and directories.
Nothing may come from outside the context: absolute sources, ``..`` and symlinks that lead out are refused.

The content hash reads only files whose stat changed since a previous build recorded their digest
(:mod:`sealer.build.statcache`, which states the rule); names, types, modes and symlink targets are taken afresh.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

from sealer.build.ignore import IgnoreRules, PatternError, glob_context, has_magic
from sealer.build.ignore import load as load_ignore
from sealer.build.statcache import StatCache
from sealer.errors import BuildError
from sealer.kubefile import Copy

IGNORE_FILE = ".sealerignore"


@dataclass(frozen=True)
class CopyPlan:
    entries: dict[str, str | None]   # archive path in the rootfs -> source path on disk (None: plain dir)
    content_hash: str                # sha256 over names, types, modes and bytes (not mtimes)


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


def normalize_dest(dest: str, loc: str) -> str:
    parts = [p for p in PurePosixPath(dest.replace("\\", "/")).parts if p not in ("/", ".", "")]
    if ".." in parts:
        raise BuildError(f"COPY destination {dest!r} leaves the rootfs ('..' is not allowed)", *_split(loc))
    return "/".join(parts)


def _split(loc: str) -> tuple[str, int | None]:
    f, _, line = loc.rpartition(":")
    return (f, int(line)) if line.isdigit() else (loc, None)


def plan_copy(instr: Copy, context: str, stats: StatCache | None = None) -> CopyPlan:
    """Resolve the sources of a COPY into archive entries; refuse anything that leaves the context.

    ``stats``: the context's stat cache (digests of files whose stat did not change are not read again); by
    default an in-memory one shared by the calls of this process.

    A source that changes while it is read (a file removed, a directory renamed) is a BuildError, not a
    crash; the layer writer re-checks every path when it reads it (see ``sealer.tario.extract``)."""
    try:
        return _plan_copy(instr, context, _process_stats if stats is None else stats)
    except OSError as e:
        raise BuildError(f"COPY: {e.filename or context} changed while the build read it ({e.strerror}); "
                         "is something modifying the build context?", instr.location.file,
                         instr.location.line) from None


def _plan_copy(instr: Copy, context: str, stats: StatCache) -> CopyPlan:
    loc = str(instr.location)
    file, line = instr.location.file, instr.location.line
    ctx = os.path.realpath(context)
    dest = normalize_dest(instr.dest, loc)
    ignore = load_ignore(ctx, IGNORE_FILE)
    entries: dict[str, str | None] = {}
    h = hashlib.sha256()
    for src in instr.sources:
        if os.path.isabs(src) or src.startswith("~"):
            raise BuildError(f"COPY source {src!r} is absolute; sources are relative to the build context", file, line)
        parts = PurePosixPath(src.replace("\\", "/")).parts
        if ".." in parts:
            raise BuildError(f"COPY source {src!r} leaves the build context ('..' is not allowed)", file, line)
        if has_magic(src):
            try:
                matches, dropped = glob_context(src, ctx, ignore)
            except PatternError as e:
                raise BuildError(f"COPY source {src!r}: {e}", file, line) from None
            if not matches:
                why = f" ({dropped} match(es) excluded by {IGNORE_FILE})" if dropped else ""
                raise BuildError(f"COPY source {src!r} matches no file in the build context{why}", file, line)
        else:
            matches = [src]
            rel = os.path.relpath(os.path.join(ctx, src), ctx)
            if rel != "." and ignore.ignored(rel):
                raise BuildError(f"COPY source {src!r} is excluded by {IGNORE_FILE}", file, line)
        for m in matches:
            full = os.path.join(ctx, m)
            if not os.path.lexists(full):
                raise BuildError(f"COPY source {src!r} not found in the build context {ctx}", file, line)
            real = os.path.realpath(full)
            if not _inside(ctx, real):
                raise BuildError(f"COPY source {m!r} resolves to {real}, outside the build context", file, line)
            base = os.path.basename(os.path.normpath(m))
            in_place = real == ctx or base in ("", ".")
            prefix = dest if in_place else (f"{dest}/{base}" if dest else base)
            if os.path.isdir(real):
                if prefix:
                    entries[prefix] = real
                _add_dir(real, prefix, ctx, entries, ignore, instr)
            else:
                if not prefix:
                    raise BuildError(f"COPY of file {m!r} needs a name", file, line)
                if not stat.S_ISREG(os.stat(real).st_mode):
                    raise BuildError(f"COPY {m!r}: devices, sockets and fifos cannot be copied", file, line)
                entries[prefix] = real
    for arc in sorted(entries):
        src_path = entries[arc]
        h.update(arc.encode() + b"\0")
        if src_path is None:
            h.update(b"d\0")
            continue
        st = os.lstat(src_path)
        h.update(f"{stat.S_IFMT(st.st_mode):o}:{stat.S_IMODE(st.st_mode):o}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(src_path).encode() + b"\0")
        elif stat.S_ISREG(st.st_mode):
            h.update(stats.digest(src_path, st).encode() + b"\0")
    return CopyPlan(entries, h.hexdigest())


def _add_dir(real: str, prefix: str, ctx: str, entries: dict[str, str | None], ignore: IgnoreRules,
             instr: Copy) -> None:
    for dirpath, dirnames, filenames in os.walk(real):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, real)
        for name in list(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            ctx_rel = os.path.relpath(full, ctx)
            if ignore and ignore.ignored(ctx_rel):
                if name in dirnames and ignore.prune(ctx_rel):
                    dirnames.remove(name)
                continue
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(full)
                resolved = os.path.realpath(full)
                if os.path.isabs(target) or not _inside(ctx, resolved):
                    raise BuildError(
                        f"COPY {ctx_rel!r} is a symlink to {target!r}, outside the build context",
                        instr.location.file, instr.location.line)
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise BuildError(f"COPY {ctx_rel!r}: devices, sockets and fifos cannot be copied",
                                 instr.location.file, instr.location.line)
            entries[f"{prefix}/{rel}" if prefix else rel] = full


_process_stats = StatCache()   # in memory: repeated plans of one process (APP sources, tests) read a file once
