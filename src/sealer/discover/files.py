"""Walking a rootfs without leaving it: symlinks whose target is outside the root are not followed."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

Warn = Callable[[str], None]
YAML_SUFFIXES = (".yaml", ".yml")


def inside(root: Path, path: Path) -> Path | None:
    """``path`` resolved, or None when it (or a symlink on the way) leads outside ``root``."""
    real = Path(os.path.realpath(path))
    return real if real == root or real.is_relative_to(root) else None


def existing_file(root: Path, rel: str, warn: Warn) -> Path | None:
    """``root/rel`` when it is a regular file inside the root (symlinks within the root are fine)."""
    path = root / rel
    if not os.path.lexists(path):
        return None
    real = inside(root, path)
    if real is None:
        warn(f"skip {rel}: symlink leaves {root}")
        return None
    return real if real.is_file() else None


def walk(root: Path, rel_dir: str, warn: Warn, *, want: Callable[[str, Path], str | None]) -> Iterator[tuple[str, Path, str]]:
    """Yield ``(relative display path, real path, what)`` for entries ``want`` classifies.

    ``want(name, real_path)`` returns ``"file"``/``"chart"``/... to yield the entry (a yielded
    directory is not descended), ``"dir"`` to descend, or None to skip. Entries are sorted by name;
    directory symlink loops are cut by remembering visited real directories.
    """
    start = root / rel_dir
    if not os.path.lexists(start):
        return
    real_start = inside(root, start)
    if real_start is None:
        warn(f"skip {rel_dir}: symlink leaves {root}")
        return
    if not real_start.is_dir():
        return
    seen: set[Path] = set()
    stack: list[tuple[str, Path]] = [(rel_dir, real_start)]
    while stack:
        rel, real_dir = stack.pop()
        if real_dir in seen:
            continue
        seen.add(real_dir)
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
        except OSError as e:
            warn(f"skip {rel}: {e.strerror}")
            continue
        subdirs: list[tuple[str, Path]] = []
        for entry in entries:
            child_rel = f"{rel}/{entry.name}"
            real = inside(root, Path(entry.path)) if entry.is_symlink() else Path(entry.path)
            if real is None:
                warn(f"skip {child_rel}: symlink leaves {root}")
                continue
            if not real.exists():
                continue
            what = want(entry.name, real)
            if what == "dir":
                subdirs.append((child_rel, real))
            elif what is not None:
                yield child_rel, real, what
        stack.extend(reversed(subdirs))


def manifest_kind(name: str, real: Path) -> str | None:
    if real.is_dir():
        return "dir"
    if real.is_file() and name.endswith(YAML_SUFFIXES) and not name.startswith("."):
        return "file"
    return None


def chart_kind(name: str, real: Path) -> str | None:
    if real.is_dir():
        return "chart" if (real / "Chart.yaml").is_file() else "dir"
    if real.is_file() and name.endswith(".tgz"):
        return "archive"
    return None
