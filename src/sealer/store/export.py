"""``export-rootfs`` made all-or-nothing: a new destination is unpacked into a hidden sibling directory and renamed
into place; an existing empty one is filled in place and emptied again on failure (or Ctrl-C); a non-empty
destination is refused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sealer.errors import StoreError
from sealer.oci.model import Platform
from sealer.store.fsutil import force_rmtree
from sealer.store.layout import Store, StoredImage


def export_rootfs_atomic(store: Store, ref: str, dest: Path, platform: Platform | None = None) -> StoredImage:
    mode = 0o755
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise StoreError(f"export-rootfs {dest}: exists and is not a directory")
    if dest.exists():
        if any(dest.iterdir()):
            raise StoreError(f"export-rootfs {dest}: directory is not empty (give a new or empty directory)")
        mode = dest.stat().st_mode & 0o7777
    parent = dest.absolute().parent
    if not parent.is_dir():
        raise StoreError(f"export-rootfs {dest}: directory {parent} does not exist")
    store.resolve(ref)  # fail on a bad name before creating anything
    if dest.exists():
        # an existing empty directory is filled in place (nothing beside it is touched) and emptied again if
        # anything fails: all or nothing
        try:
            return store.export_rootfs(ref, dest, platform)
        except BaseException:
            for child in list(dest.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    force_rmtree(child)
                else:
                    child.unlink()
            raise
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=parent))
    try:
        img = store.export_rootfs(ref, tmp, platform)
        os.chmod(tmp, mode)
        os.rename(tmp, dest)
    except BaseException:
        force_rmtree(tmp)
        raise
    return img
