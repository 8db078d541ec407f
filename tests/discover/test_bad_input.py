"""Bad input: invalid YAML, YAML bombs, deep nesting, huge manifests, symlinks leaving the root."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.hostile_text import BILLION_LAUGHS

from sealer.discover import discover
from sealer.errors import DiscoveryError

from ._util import write

BOMB = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n" + "".join(
    "  " + line + "\n" for line in BILLION_LAUGHS.splitlines())


@pytest.mark.parametrize("text,line,match", [
    ("apiVersion: v1\nkind: Pod\nspec: [\n", 4, "parse YAML"),
    ("a: 1\n b: 2\n", 2, "parse YAML"),
    ("ok: 1\n---\nkey: 'unterminated\n", 4, "parse YAML"),
    ("a: *undefined\n", 1, "parse YAML"),
])
def test_invalid_yaml_names_file_and_line(rootfs: Path, text: str, line: int, match: str) -> None:
    write(rootfs / "manifests/sub/bad.yaml", text)
    with pytest.raises(DiscoveryError, match=match) as e:
        discover(rootfs)
    assert e.value.file == "manifests/sub/bad.yaml"
    assert e.value.line == line


def test_not_utf8_is_an_error(rootfs: Path) -> None:
    (rootfs / "manifests").mkdir()
    (rootfs / "manifests/bin.yaml").write_bytes(b"a: \xff\xfe\x00\x01\n")
    with pytest.raises(DiscoveryError) as e:
        discover(rootfs)
    assert e.value.file == "manifests/bin.yaml"


def test_non_kubernetes_yaml_is_skipped(rootfs: Path) -> None:
    write(rootfs / "manifests/values.yaml", "image:\n  repository: nginx\n  tag: 1.25\n")
    write(rootfs / "manifests/kustomization.yaml", "resources: [a.yaml]\nimages: [{name: x, newTag: v2}]\n")
    write(rootfs / "manifests/readme.txt", "image: nginx\n")
    assert discover(rootfs).images == []


@pytest.mark.parametrize("deep", [False, True])
def test_billion_laughs_is_refused_quickly(rootfs: Path, deep: bool) -> None:
    write(rootfs / "manifests/bomb.yaml", BOMB)
    start = time.monotonic()
    with pytest.raises(DiscoveryError, match="YAML bomb") as e:
        discover(rootfs, deep=deep)
    assert time.monotonic() - start < 5
    assert e.value.file == "manifests/bomb.yaml"


def test_bomb_in_values_override_is_refused(rootfs: Path) -> None:
    from ._util import make_chart
    make_chart(rootfs / "charts", "app")
    write(rootfs / "charts/app.values.yaml", BOMB)
    with pytest.raises(DiscoveryError, match="YAML bomb"):
        discover(rootfs)


def test_deep_nesting_is_refused(rootfs: Path) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(400)) + "  " * 401 + "x: 1\n"
    write(rootfs / "manifests/deep.yaml", text)
    with pytest.raises(DiscoveryError, match="nesting") as e:
        discover(rootfs)
    assert e.value.file == "manifests/deep.yaml"


def test_symlinks_leaving_the_root_are_not_followed(tmp_path: Path, rootfs: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "evil.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: e}\nspec: {containers: [{name: e, image: evil:1}]}\n")
    write(outside / "imageList", "evil:2\n")
    write(rootfs / "manifests/real.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec: {containers: [{name: g, image: good:1}]}\n")
    os.symlink(outside / "evil.yaml", rootfs / "manifests/link.yaml")
    os.symlink(outside, rootfs / "manifests/dirlink")
    os.symlink(outside / "imageList", rootfs / "manifests/imageList")
    os.symlink(rootfs / "manifests/real.yaml", rootfs / "manifests/inside.yaml")  # stays inside: followed
    os.symlink(rootfs / "manifests", rootfs / "manifests/loop")                    # loop: cut
    result = discover(rootfs)
    assert [str(r) for r in result.references()] == ["docker.io/library/good:1"]
    assert len(result.images[0].sources) == 2
    assert sum("symlink leaves" in w for w in result.warnings) == 3


BIG_DOC = """apiVersion: v1
kind: ConfigMap
metadata: {{name: blob-{i}}}
data:
  blob: "{blob}"
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}}}
spec: {{template: {{spec: {{containers: [{{name: a, image: "registry.example.com/team/app:v1"}}]}}}}}}
---
"""

MEASURE = """
import resource, sys
from sealer.discover import discover
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = discover(sys.argv[1])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(r.images), len(r.images[0].sources), (peak - base) // 1024)
"""


def test_big_manifest_streams_in_bounded_memory(rootfs: Path) -> None:
    (rootfs / "manifests").mkdir()
    blob = "x" * 60_000
    size = 0
    with open(rootfs / "manifests/big.yaml", "w") as fh:
        i = 0
        while size < 80_000_000:
            chunk = BIG_DOC.format(i=i, blob=blob)
            fh.write(chunk)
            size += len(chunk)
            i += 1
    start = time.monotonic()
    # A fresh interpreter so ru_maxrss measures this discovery only.
    out = subprocess.run([sys.executable, "-c", MEASURE, str(rootfs)], capture_output=True, text=True, check=True,
                         timeout=120).stdout.split()
    images, sources, growth_mb = (int(x) for x in out)
    assert images == 1 and sources == i
    assert growth_mb < 60, f"peak RSS grew {growth_mb} MB for an {size // 1_000_000} MB manifest"
    assert time.monotonic() - start < 60
