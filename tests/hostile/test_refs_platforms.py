"""Issue 16 item 10: a tag plus a digest must name that digest (or be refused); NAME@DIGEST finds local images;
--platform is validated as os/arch[/variant]; an image built for other platforms says which it has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealer.platforms import PlatformError, parse_option

from .craft import put_image

SEALER = [sys.executable, "-m", "sealer.cli.main"]
FAKE = "sha256:" + "0" * 64
FAKE1 = "sha256:" + "1" * 64


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEALER, "--root", str(root), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def index_names(root: Path) -> list[str]:
    doc = json.loads((root / "index.json").read_text())
    return [m["annotations"]["org.opencontainers.image.ref.name"] for m in doc["manifests"]]


def test_build_with_a_digest_in_the_name_is_refused(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCMD echo hi\n")
    r = run(store_root, "build", "-b", "lite", "-t", f"a:1@{FAKE}", str(ctx))
    assert r.returncode == 2 and "cannot carry a digest" in r.stderr
    assert not (store_root / "index.json").exists() or index_names(store_root) == []


def test_tag_with_a_foreign_digest_is_refused_and_own_digest_accepted(store_root: Path) -> None:
    desc = put_image(store_root, "src:v1")
    r = run(store_root, "tag", "src:v1", f"x:1@{FAKE1}")
    assert r.returncode == 1 and "does not match the image" in r.stderr and str(desc.digest) in r.stderr
    assert "docker.io/library/x:1" not in " ".join(index_names(store_root))
    ok = run(store_root, "tag", "src:v1", f"x:1@{desc.digest}")
    assert ok.returncode == 0, ok.stderr
    assert "docker.io/library/x:1" in index_names(store_root)  # stored by name; the digest is the image's


def test_name_at_digest_finds_a_local_image(store_root: Path) -> None:
    desc = put_image(store_root, "img:v1")
    put_image(store_root, "other:v1", labels={"x": "y"})
    for ref in (f"img@{desc.digest}", f"img:v1@{desc.digest}", f"docker.io/library/img@{desc.digest}"):
        r = run(store_root, "inspect", "--json", ref)
        assert r.returncode == 0, (ref, r.stderr)
        assert json.loads(r.stdout)["digest"] == str(desc.digest)
    wrong = run(store_root, "inspect", f"img:v1@{FAKE}")
    assert wrong.returncode == 1 and f"is {desc.digest}, not {FAKE}" in wrong.stderr
    other_repo = run(store_root, "inspect", f"other@{desc.digest}")
    assert other_repo.returncode == 1 and "no such image" in other_repo.stderr


@pytest.mark.parametrize("bad", ["foo", "", "linux/", "/amd64", "linux/amd64/v7/x", "plan10/amd64",
                                 "linux/arm/7"])
def test_bad_platforms_are_refused(bad: str) -> None:
    with pytest.raises(PlatformError):
        parse_option(bad)


@pytest.mark.parametrize("good,want", [("linux/amd64", "linux/amd64"), ("arm64", "linux/arm64"),
                                       ("linux/arm/v7", "linux/arm/v7"), ("linux/aarch64", "linux/arm64"),
                                       ("windows/amd64", "windows/amd64"), ("linux/arm64/v8", "linux/arm64")])
def test_good_platforms(good: str, want: str) -> None:
    assert str(parse_option(good)) == want


def test_cli_refuses_bad_platforms(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCMD echo hi\n")
    for bad in ("foo", ""):
        r = run(store_root, "build", "-b", "lite", "--platform", bad, "-t", "p:v1", str(ctx))
        assert r.returncode == 2, r.stderr
        assert "os/arch[/variant]" in r.stderr
    put_image(store_root, "img:v1")
    r = run(store_root, "inspect", "--platform", "foo", "img:v1")
    assert r.returncode == 2 and "unknown architecture 'foo'" in r.stderr


def test_other_platform_image_says_which_platforms_it_has(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCMD echo hi\n")
    b = run(store_root, "build", "-b", "lite", "--platform", "linux/arm64,windows/amd64", "-t", "multi:v1", str(ctx))
    assert b.returncode == 0, b.stderr
    r = run(store_root, "inspect", "multi:v1")
    assert r.returncode == 1
    assert "it has linux/arm64, windows/amd64" in r.stderr and "--platform" in r.stderr
    ok = run(store_root, "inspect", "--platform", "linux/arm64", "multi:v1")
    assert ok.returncode == 0, ok.stderr
