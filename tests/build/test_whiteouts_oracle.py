"""Deletions in RUN layers and `.sealerignore`, judged by readers that are not ours: a plain tarfile walk that
applies OCI whiteouts (tests/helpers/ocioracle.py) and umoci; never by `sealer export-rootfs`."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from helpers.ocioracle import check_layout, flatten_rootfs, image_manifest, open_layer, umoci_unpack

from .conftest import Sealer

DELETE_KUBEFILE = """\
FROM scratch
COPY . .
RUN rm -rf d && rm keep/gone.txt && rm -r e/sub
RUN test ! -e d && test ! -e keep/gone.txt && test -f keep/stay.txt && test -d e && echo later > e/later
"""


def _tree(ctx: Path) -> None:
    for rel, text in {"d/top.txt": "t\n", "d/sub/deep.txt": "deep\n", "d/sub/subsub/x": "x\n",
                      "keep/gone.txt": "g\n", "keep/stay.txt": "s\n", "e/sub/y": "y\n", "e/z": "z\n"}.items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (ctx / "d" / "empty").mkdir()


def _ref(name: str) -> str:
    return f"docker.io/library/{name}"


def test_run_deleting_directories_hides_them_in_the_image(tmp_path: Path, sealer: Sealer) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    _tree(ctx)
    (ctx / "Kubefile").write_text(DELETE_KUBEFILE)
    sealer("build", "-b", "lite", "-t", "wh:v1", str(ctx))
    layout = sealer.root
    assert check_layout(layout) == []
    fs = flatten_rootfs(layout, _ref("wh:v1"))
    # the directories themselves and everything under them are gone
    for gone in ("d", "d/sub", "d/sub/subsub", "d/sub/subsub/x", "d/empty", "d/top.txt", "e/sub", "e/sub/y",
                 "keep/gone.txt"):
        assert gone not in fs, f"{gone} survived its RUN rm in the image"
    assert fs.read("keep/stay.txt") == b"s\n"
    assert fs.read("e/z") == b"z\n" and fs.read("e/later") == b"later\n"
    assert fs.entries["e"].info.isdir()
    # the RUN layer says so with whiteouts for the top-most deleted paths (the directory, not only its files)
    run_layer = image_manifest(layout, _ref("wh:v1"))["layers"][1]
    with open_layer(layout, run_layer) as fp, tarfile.open(fileobj=fp, mode="r|") as tf:
        names = {m.name.strip("/").removeprefix("./") for m in tf}
    assert {".wh.d", "e/.wh.sub", "keep/.wh.gone.txt"} <= names, sorted(names)
    # a second reader that is not ours: umoci
    rootfs = umoci_unpack(layout, _ref("wh:v1"), tmp_path / "bundle")
    assert not (rootfs / "d").exists() and not (rootfs / "e" / "sub").exists()
    assert not (rootfs / "keep" / "gone.txt").exists()
    assert (rootfs / "keep" / "stay.txt").read_text() == "s\n"
    assert (rootfs / "e" / "later").read_text() == "later\n"
    # building FROM it extracts its layers for a RUN: the extraction must honour those whiteouts too
    child = tmp_path / "child"
    child.mkdir()
    (child / "Kubefile").write_text("FROM wh:v1\nRUN test ! -e d/sub/deep.txt && test ! -e keep/gone.txt && "
                                    "test ! -e e/sub && test -f keep/stay.txt && ls > listing\n")
    sealer("build", "-b", "lite", "-t", "whchild:v1", str(child))
    assert flatten_rootfs(layout, _ref("whchild:v1")).read("listing").split() == [b"Kubefile", b"e", b"keep", b"listing"]


def test_file_whiteouts_over_a_from_base_image(tmp_path: Path, sealer: Sealer) -> None:
    """A second build FROM the first deletes files and directories the base brought: the derived image's
    RUN layer must whiteout paths of *another* image's layer."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    _tree(ctx)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY . .\n")
    sealer("build", "-b", "lite", "-t", "base:v1", str(ctx))
    child = tmp_path / "child"
    child.mkdir()
    (child / "Kubefile").write_text("FROM base:v1\nRUN rm keep/stay.txt d/top.txt && rm -r d/sub\n")
    sealer("build", "-b", "lite", "-t", "child:v1", str(child))
    base = flatten_rootfs(sealer.root, _ref("base:v1"))
    fs = flatten_rootfs(sealer.root, _ref("child:v1"))
    assert "keep/stay.txt" in base and "d/sub/deep.txt" in base
    assert "keep/stay.txt" not in fs and "d/top.txt" not in fs
    assert "d/sub" not in fs and "d/sub/deep.txt" not in fs
    assert fs.read("keep/gone.txt") == b"g\n" and "d/empty" in fs


SEALERIGNORE = """\
# comments and blank lines are not patterns

*.log
secret
/build/
docs/draft-*.md
"""


def test_sealerignore_leaves_paths_out_of_copy_dot(tmp_path: Path, sealer: Sealer) -> None:
    ctx = tmp_path / "ctx"
    files = {"a.txt": "a\n", "debug.log": "L\n", "secret/key.pem": "K\n", "build/out.bin": "B\n",
             "docs/draft-1.md": "D\n", "docs/final.md": "F\n", "manifests/app.yaml": "kind: A\n"}
    for rel, text in files.items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (ctx / ".sealerignore").write_text(SEALERIGNORE)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY . .\n")
    sealer("build", "-b", "lite", "-t", "ign:v1", str(ctx))
    fs = flatten_rootfs(sealer.root, _ref("ign:v1"))
    for gone in ("debug.log", "secret", "secret/key.pem", "build", "build/out.bin", "docs/draft-1.md"):
        assert gone not in fs, f"{gone} is in .sealerignore but was copied"
    for kept in ("a.txt", "docs/final.md", "manifests/app.yaml", "Kubefile"):
        assert kept in fs, f"{kept} is not ignored but is missing"
    # the ignore file changes the cache key: un-ignoring a path rebuilds the COPY and brings it in
    (ctx / ".sealerignore").write_text("secret\n")
    again = sealer.json("build", "-b", "lite", "-t", "ign:v2", str(ctx))
    assert again["cachedSteps"] == 0
    fs2 = flatten_rootfs(sealer.root, _ref("ign:v2"))
    assert "debug.log" in fs2 and "secret/key.pem" not in fs2
    assert os.path.exists(ctx / "secret" / "key.pem"), "the build never touches the context"
