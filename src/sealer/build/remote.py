"""The build's rootfs on master0 of a build cluster, kept in step with the local working rootfs.

A cluster build runs ``RUN`` and ``CMD`` on master0, inside the delivered rootfs
(``<data root>/<cluster>/rootfs``), with ``rootfs/bin`` first on ``PATH`` and the cluster's kubeconfig, so
they act on the live cluster. Around each remote ``RUN``:

1. what changed locally since the last sync (``COPY`` layers) is sent to master0 — one tar stream;
2. master0's rootfs is listed (content hashes, ``registry/`` left out) before and after the command;
3. what the command added, changed or deleted is brought back into the local working rootfs, so the
   executor makes its layer exactly as for a local ``RUN`` (snapshot and compare).

Files the delivery itself wrote on master0 (rendered ``*.tmpl``, the proxy configuration) are never brought
back: only the command's own changes are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sealer.deliver import manifest as mf
from sealer.errors import BuildError
from sealer.infra import Host, HostCommandError
from sealer.kubefile import Run
from sealer.tario.extract import extract_layer

log = logging.getLogger(__name__)
T = TypeVar("T")

# ``%y %m %P\0%l\0`` for every entry but registry/, then the files' hashes: the manifest format of
# sealer.deliver.manifest, computed on the host with find and sha256sum only.
_LIST = r"""set -e
cd {root}
find . -path ./registry -prune -o -mindepth 1 -printf '%y %m %P\0%l\0'
printf '\0==HASHES==\0'
find . -path ./registry -prune -o -type f -print0 | xargs -0 -r sha256sum -z
"""


def parse_listing(out: bytes) -> mf.Manifest:
    """The manifest of a host's rootfs from the output of ``_LIST``."""
    entries_part, _, hashes_part = out.partition(b"\0==HASHES==\0")
    fields = entries_part.split(b"\0")
    modes: dict[str, tuple[str, str, str]] = {}
    for i in range(0, len(fields) - 1, 2):
        head, target = fields[i].decode("utf-8", "surrogateescape"), fields[i + 1].decode("utf-8", "surrogateescape")
        kind, mode, path = head.split(" ", 2)
        modes[path] = (kind, mode, target)
    hashes: dict[str, str] = {}
    for rec in hashes_part.split(b"\0"):
        if rec:
            digest, _, name = rec.decode("utf-8", "surrogateescape").partition("  ")
            hashes[name.removeprefix("./")] = digest
    out_m: mf.Manifest = {}
    for path, (kind, mode, target) in modes.items():
        if kind == "d":
            out_m[path] = f"d:{int(mode, 8):o}"
        elif kind == "l":
            out_m[path] = f"l:{target}"
        elif kind == "f" and path in hashes:
            out_m[path] = f"f:{hashes[path]}:{int(mode, 8):o}"
    return dict(sorted(out_m.items()))


def _inside(root: Path, rel: str) -> Path:
    """``root/rel`` when it stays inside ``root`` (no ``..``, no symlinked parent leading out)."""
    path = root / rel
    parent = os.path.realpath(path.parent)
    base = os.path.realpath(root)
    if rel.startswith("/") or ".." in Path(rel).parts or not (parent == base or parent.startswith(base + os.sep)):
        raise BuildError(f"the build cluster reported a path outside the rootfs: {rel!r}")
    return path


class RemoteRootfs:
    """master0's copy of the build rootfs, driven from the build's own event loop (see :class:`Loop`)."""

    def __init__(self, host: Host, remote_root: str, env: Mapping[str, str]) -> None:
        self.host = host
        self.root = remote_root
        self.env = dict(env)
        self._synced: mf.Manifest | None = None  # the local rootfs as master0 last saw it

    def baseline(self, manifest: mf.Manifest) -> None:
        """Master0's rootfs was delivered from a rootfs with this manifest (``registry/`` left out)."""
        self._synced = dict(manifest)

    async def listing(self) -> mf.Manifest:
        r = await self.host.run("bash -s", input=_LIST.format(root=shlex.quote(self.root)).encode(),
                                timeout=600)
        return parse_listing(r.stdout.encode("utf-8", "surrogateescape"))

    async def push(self, local_root: Path) -> int:
        """Send what changed locally since the last sync; returns the number of entries sent or removed."""
        now = mf.build_manifest(local_root, with_registry=False)
        send, remove = mf.diff(self._synced, now)
        if remove:
            await self.host.run("cd " + shlex.quote(self.root) + " && rm -rf -- " +
                                " ".join(shlex.quote(p) for p in sorted(remove, reverse=True)))
        files = [p for p in send if not now[p].startswith("d:") or p not in (self._synced or {})]
        if files:
            await self.host.put_tree(local_root, self.root, files=files)
        self._synced = now
        return len(send) + len(remove)

    async def run(self, command: str, *, on_line: Callable[[str, str], None] | None = None,
                  timeout: float | None = None) -> None:
        exports = "".join(f"export {k}={shlex.quote(v)}; " for k, v in self.env.items())
        script = (f"{exports}export ROOTFS={shlex.quote(self.root)} SEALER_ROOTFS={shlex.quote(self.root)}; "
                  f"export PATH={shlex.quote(self.root + '/bin')}:$PATH; cd {shlex.quote(self.root)}; {command}")
        await self.host.run(script, timeout=timeout, on_line=on_line)

    async def pull(self, before: mf.Manifest, after: mf.Manifest, local_root: Path) -> tuple[int, int]:
        """Bring master0's changes between two listings into ``local_root``: (changed, deleted)."""
        changed, deleted = mf.diff(before, after)
        for rel in sorted(deleted, key=len, reverse=True):
            target = _inside(local_root, rel)
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
        if changed:
            listing = b"\0".join(p.encode("utf-8", "surrogateescape") for p in changed) + b"\0"
            # the tar streams into an unlinked file beside the working rootfs (never held in memory; gone on
            # any exit, kill -9 included), then goes through the same safe extractor as every layer
            with tempfile.TemporaryFile(dir=local_root.parent) as spool:
                await self.host.run(f"cd {shlex.quote(self.root)} && tar --no-recursion --null -T - -cf -",
                                    input=listing, timeout=3600, on_stdout=spool.write)
                spool.seek(0)
                extract_layer(spool, local_root, whiteouts=False)
        # the local rootfs now matches master0 for these paths: the next push sends none of them back
        if self._synced is not None:
            for rel in deleted:
                self._synced.pop(rel, None)
            self._synced.update({p: after[p] for p in changed})
        return len(changed), len(deleted)


class Loop:
    """One event loop for the whole build, so SSH connections outlive each call from the synchronous executor."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to the end; on Ctrl-C/SIGTERM cancel it first, so remote commands are stopped (the host
        layer kills their process group when cancelled) before the interruption unwinds further."""
        task = self.loop.create_task(coro)
        try:
            return self.loop.run_until_complete(task)
        except BaseException:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    self.loop.run_until_complete(task)
            raise

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def run_step_remotely(loop: Loop, remote: RemoteRootfs, step: Run, local_root: Path,
                      on_line: Callable[[str, str], None] | None = None) -> None:
    """The executor's RUN, on master0: push, run, bring the command's changes back."""

    async def go() -> None:
        await remote.push(local_root)
        before = await remote.listing()
        try:
            await remote.run(step.shell_line, on_line=on_line)
        except HostCommandError as e:
            raise BuildError(f"RUN failed on {remote.host.address} with exit code {e.result.exit_code}: "
                             f"{step.shell_line}\n--- output (last lines) ---\n{e.result.tail(20)}",
                             step.location.file, step.location.line) from None
        after = await remote.listing()
        changed, deleted = await remote.pull(before, after, local_root)
        log.info("RUN on %s changed %d and deleted %d entries", remote.host.address, changed, deleted)

    loop.run(go())
