"""Issue 16 item 6: .sealerignore applies to every COPY form with .dockerignore semantics, and COPY globs follow
BuildKit's rules (``**`` included). Checked on the built image's rootfs (export-rootfs), not on a plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealer.build.ignore import IgnoreRules

SEALER = [sys.executable, "-m", "sealer.cli.main"]


def build(root: Path, ctx: Path, kubefile: str, tag: str = "t:v1") -> subprocess.CompletedProcess[str]:
    (ctx / "Kubefile").write_text(kubefile)
    return subprocess.run([*SEALER, "--root", str(root), "build", "-b", "lite", "-t", tag, str(ctx)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


def rootfs_files(root: Path, tmp: Path, tag: str = "t:v1") -> set[str]:
    dest = tmp / "out"
    r = subprocess.run([*SEALER, "--root", str(root), "export-rootfs", tag, str(dest)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    c = tmp_path / "ctx"
    (c / "sub" / "deep").mkdir(parents=True)
    for rel in ("secret.key", "app.yaml", "notes.tmp", "keep.tmp", "sub/a.yaml", "sub/b.key", "sub/x.tmp",
                "sub/deep/c.yaml", "sub/deep/d.log"):
        (c / rel).write_text(rel)
    (c / ".sealerignore").write_text("# secrets never go in\nsecret.key\n*.tmp\n!keep.tmp\n**/*.log\nsub/b.key\n")
    return c


@pytest.mark.parametrize("copy", ["COPY * .", "COPY *.key .", "COPY . .", "COPY sub .", "COPY **/*.key k/"])
def test_ignored_files_never_reach_the_image(store_root: Path, tmp_path: Path, ctx: Path, copy: str) -> None:
    (ctx / "other.yaml").write_text("x")
    kf = f"FROM scratch\n{copy}\nCOPY other.yaml etc/\n"
    r = build(store_root, ctx, kf)
    if copy in ("COPY *.key .", "COPY **/*.key k/"):
        # every match is ignored: the COPY fails, naming the ignore file, and no image is made
        assert r.returncode == 1 and ".sealerignore" in r.stderr and "Kubefile:2" in r.stderr, r.stderr
        return
    assert r.returncode == 0, r.stderr
    files = rootfs_files(store_root, tmp_path)
    leaked = {f for f in files if f.endswith((".key", ".log")) or f.endswith("notes.tmp")}
    assert not leaked, leaked
    if copy in ("COPY * .", "COPY . ."):
        assert "keep.tmp" in files and "app.yaml" in files  # the ! exception brings keep.tmp back
        assert "sub/x.tmp" in files  # as in docker, `*.tmp` does not reach into sub/ (that takes `**/*.tmp`)


def test_explicit_name_of_an_ignored_file_is_refused(store_root: Path, ctx: Path) -> None:
    r = build(store_root, ctx, "FROM scratch\nCOPY secret.key .\n")
    assert r.returncode == 1
    assert "Kubefile:2" in r.stderr and "'secret.key' is excluded by .sealerignore" in r.stderr


def test_doublestar_glob_matches_every_level(store_root: Path, tmp_path: Path, ctx: Path) -> None:
    r = build(store_root, ctx, "FROM scratch\nCOPY **/*.yaml y/\n")
    assert r.returncode == 0, r.stderr
    files = rootfs_files(store_root, tmp_path)
    assert {"y/app.yaml", "y/a.yaml", "y/c.yaml"} <= files


def test_single_star_stays_in_one_directory(store_root: Path, tmp_path: Path, ctx: Path) -> None:
    r = build(store_root, ctx, "FROM scratch\nCOPY sub/*.yaml y/\n")
    assert r.returncode == 0, r.stderr
    files = rootfs_files(store_root, tmp_path)
    assert "y/a.yaml" in files and "y/c.yaml" not in files


@pytest.mark.parametrize("patterns,path,ignored", [
    (["*.tmp"], "a.tmp", True),
    (["*.tmp"], "sub/a.tmp", False),          # docker: * does not cross /
    (["**/*.tmp"], "sub/a.tmp", True),
    (["**/*.tmp"], "a.tmp", True),
    (["sub"], "sub/deep/x", True),            # a matched directory excludes its contents
    (["sub", "!sub/deep/x"], "sub/deep/x", False),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md", "README*"], "README.md", True),  # last match wins
    (["/abs/path"], "abs/path", True),
    (["a//b/./c"], "a/b/c", True),
    (["file?.txt"], "file1.txt", True),
    (["file[0-9].txt"], "filex.txt", False),
    (["a/**/b"], "a/b", True),
    (["a/**/b"], "a/x/y/b", True),
    (["# comment"], "# comment", False),
])
def test_dockerignore_semantics(patterns: list[str], path: str, ignored: bool) -> None:
    assert IgnoreRules(patterns).ignored(path) is ignored
