"""Checks on remote paths before the host layer deletes or writes them."""

from __future__ import annotations

import posixpath


def checked_remove_path(path: str) -> str:
    """The normalised path, or ValueError for "", "/" and anything that normalises to them."""
    if not path or not path.strip():
        raise ValueError("refusing to remove an empty path")
    norm = posixpath.normpath(path)
    if norm in ("/", ".", "//") or norm.strip("/") == "":
        raise ValueError(f"refusing to remove {path!r}")
    return norm


def split_target(path: str) -> tuple[str, str]:
    """(parent directory, file name) of a file path; ValueError for directories-only paths."""
    if not path or path.endswith("/"):
        raise ValueError(f"not a file path: {path!r}")
    parent, name = posixpath.split(path)
    return parent or ".", name
