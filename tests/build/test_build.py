"""Foundation build tests: Kubefile → layers in the OCI store, read back independently with skopeo."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from helpers.ocioracle import flatten_rootfs

from sealer.compression import decompressed
from sealer.store import Store

from .conftest import Sealer

KUBEFILE = """\
FROM scratch
# files, a directory, a glob and a binary on PATH
COPY a.txt .
COPY conf etc
COPY manifests/*.yaml manifests
COPY helm ./bin
RUN helm version > helm.out && echo changed >> etc/conf/one.cfg && rm a.txt && mkdir -p data && echo new > data/n
CMD kubectl apply -f manifests/
CMD helm install app charts/app
"""


def make_context(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    (ctx / "conf" / "sub").mkdir(parents=True)
    (ctx / "manifests").mkdir()
    (ctx / "a.txt").write_text("hello\n")
    (ctx / "conf" / "one.cfg").write_text("one\n")
    (ctx / "conf" / "sub" / "two.cfg").write_text("two\n")
    os.symlink("one.cfg", ctx / "conf" / "link.cfg")
    (ctx / "manifests" / "x.yaml").write_text("kind: A\n")
    (ctx / "manifests" / "y.yaml").write_text("kind: B\n")
    (ctx / "manifests" / "z.txt").write_text("not copied\n")
    (ctx / "helm").write_text("#!/bin/sh\necho 'version.BuildInfo{Version:\"v3.99\"}'\n")
    (ctx / "helm").chmod(0o755)
    (ctx / "Kubefile").write_text(KUBEFILE)
    return ctx


def layer_members(store: Store, desc_json: dict) -> dict[str, tarfile.TarInfo]:
    from sealer.digest import Digest

    d = Digest(desc_json["digest"])
    with decompressed(store.open_blob(d), desc_json["mediaType"]) as fp:
        data = fp.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: m for m in tf.getmembers()}


def test_scratch_copy_run_cmd_layers_and_skopeo(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    sealer("build", "-b", "lite", "-t", "demo:v1", str(ctx))
    doc = sealer.json("inspect", "demo:v1")
    assert doc["cmds"] == ["kubectl apply -f manifests/", "helm install app charts/app"]
    assert doc["buildType"] == "lite"
    assert doc["kubefile"] == KUBEFILE
    layers = doc["layers"]
    by = [x["instruction"] for x in layers]
    assert by[:5] == ["COPY a.txt .", "COPY conf etc", "COPY manifests/*.yaml manifests", "COPY helm ./bin",
                      KUBEFILE.splitlines()[6]]
    store = Store(sealer.root)
    m = [layer_members(store, x) for x in layers]
    assert set(m[0]) == {"a.txt"}
    assert set(m[1]) == {"etc", "etc/conf", "etc/conf/one.cfg", "etc/conf/sub", "etc/conf/sub/two.cfg",
                         "etc/conf/link.cfg"}
    assert m[1]["etc/conf/link.cfg"].issym() and m[1]["etc/conf/link.cfg"].linkname == "one.cfg"
    assert set(m[2]) == {"manifests", "manifests/x.yaml", "manifests/y.yaml"}
    assert m[3]["bin/helm"].mode & 0o111, "executable bit kept"
    run = m[4]
    assert "helm.out" in run and "etc/conf/one.cfg" in run and "data/n" in run
    assert ".wh.a.txt" in run, "deleted file must be an OCI whiteout"
    assert "bin/helm" not in run and "manifests/x.yaml" not in run, "unchanged files are not in the RUN layer"
    # the RUN saw helm on PATH
    assert any(x["instruction"] == "sealer: Kubefile" for x in layers)
    # independent reader: skopeo
    ref = f"oci:{sealer.root}:docker.io/library/demo:v1"
    info = json.loads(subprocess.check_output(["skopeo", "inspect", ref]))
    assert info["Digest"] == doc["digest"]
    assert len(info["Layers"]) == len(layers)
    out = tmp_path / "copied"
    subprocess.run(["skopeo", "copy", "-q", ref, f"dir:{out}"], check=True)
    assert (out / "manifest.json").exists()
    # the rootfs after all layers: a.txt deleted, helm output present
    rootfs = tmp_path / "rootfs"
    sealer("export-rootfs", "demo:v1", str(rootfs))
    assert not (rootfs / "a.txt").exists()
    assert "v3.99" in (rootfs / "helm.out").read_text()
    assert (rootfs / "etc/conf/one.cfg").read_text() == "one\nchanged\n"
    assert (rootfs / "Kubefile").read_text() == KUBEFILE
    # an independent reader of the same image (a tarfile walk applying OCI whiteouts) sees the same tree
    fs = flatten_rootfs(sealer.root, "docker.io/library/demo:v1")
    exported = {str(p.relative_to(rootfs)) for p in rootfs.rglob("*")}
    assert exported == set(fs.entries)
    for rel, entry in fs.entries.items():
        if entry.info.isreg():
            assert (rootfs / rel).read_bytes() == entry.data, rel
    assert "a.txt" not in fs and fs.read("etc/conf/one.cfg") == b"one\nchanged\n"


def test_rebuild_hits_cache_for_every_step(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    first = sealer.json("build", "-b", "lite", "-t", "c:v1", str(ctx))
    assert first["cachedSteps"] == 0
    os.utime(ctx / "a.txt", (1, 1))  # mtimes are not part of the key
    again = sealer.json("build", "-b", "lite", "-t", "c:v2", str(ctx))
    assert again["cachedSteps"] == again["totalSteps"]
    assert [x["digest"] for x in again["layers"]] == [x["digest"] for x in first["layers"]]
    r = sealer("build", "-b", "lite", "-t", "c:v2", str(ctx))
    assert r.stderr.count("CACHED") == again["totalSteps"]
    # a content change invalidates that step and everything after it
    (ctx / "conf" / "sub" / "two.cfg").write_text("TWO\n")
    third = sealer.json("build", "-b", "lite", "-t", "c:v3", str(ctx))
    assert third["layers"][0]["digest"] == first["layers"][0]["digest"]
    assert third["layers"][1]["digest"] != first["layers"][1]["digest"]
    assert third["cachedSteps"] == 1
    # a mode change too
    (ctx / "a.txt").chmod(0o600)
    fourth = sealer.json("build", "-b", "lite", "-t", "c:v4", str(ctx))
    assert fourth["cachedSteps"] == 0
    nocache = sealer.json("build", "--no-cache", "-b", "lite", "-t", "c:v5", str(ctx))
    assert nocache["cachedSteps"] == 0


@pytest.mark.parametrize(("line", "needle"), [
    ("COPY ../outside .", "leaves the build context"),
    ("COPY /etc/passwd .", "absolute"),
    ("COPY escape .", "outside the build context"),
    ("COPY missing.txt .", "not found"),
    ("COPY a.txt ../../x", "leaves the rootfs"),
    ("COPY nomatch*.yaml .", "matches no file"),
    ("COPY linkdir .", "outside the build context"),
])
def test_copy_refuses_sources_outside_context(tmp_path: Path, sealer: Sealer, line: str, needle: str) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (tmp_path / "outside").write_text("secret\n")
    (ctx / "a.txt").write_text("a\n")
    os.symlink(tmp_path / "outside", ctx / "escape")
    (ctx / "linkdir").mkdir()
    os.symlink("../../outside", ctx / "linkdir" / "evil")
    (ctx / "Kubefile").write_text(f"FROM scratch\nCOPY a.txt .\n{line}\n")
    r = sealer("build", "-b", "lite", "-t", "bad:v1", str(ctx), ok=False)
    assert r.exit_code != 0
    assert "Kubefile:3" in r.output and needle in r.output, r.output
    assert sealer.json("images") == []


def test_failed_run_names_line_and_leaves_store_unchanged(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    sealer("build", "-b", "lite", "-t", "good:v1", str(ctx))
    before = (sealer.root / "index.json").read_bytes()
    blobs_before = set(os.listdir(sealer.root / "blobs" / "sha256"))
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nRUN definitely-not-a-command-xyz --version\n")
    r = sealer("build", "-b", "lite", "-t", "good:v2", str(ctx), ok=False)
    assert r.exit_code != 0
    assert "Kubefile:3" in r.output and "command not found" in r.output and "definitely-not-a-command-xyz" in r.output
    (ctx / "Kubefile").write_text("FROM scratch\nRUN echo partial > p && exit 3\n")
    r = sealer("build", "-b", "lite", "-t", "good:v2", str(ctx), ok=False)
    assert "exit code 3" in r.output and "Kubefile:2" in r.output
    assert (sealer.root / "index.json").read_bytes() == before
    Store(sealer.root).gc(ingest_grace=0)
    assert set(os.listdir(sealer.root / "blobs" / "sha256")) == blobs_before
    assert os.listdir(sealer.root / "ingest") == []


def test_cluster_build_from_scratch_says_it_needs_a_base(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    r = sealer.proc("build", "-b", "container", "-t", "x:v1", str(ctx))
    assert r.returncode == 1
    assert "FROM scratch has no Kubernetes" in r.stderr and "-b lite" in r.stderr and "Kubefile:1" in r.stderr
    assert "Traceback" not in r.stderr


def test_kubefile_errors_have_file_and_line(tmp_path: Path, sealer: Sealer) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("# c\nCOPY a .\nFROM scratch\n")
    r = sealer.proc("build", "-b", "lite", "-t", "x:v1", str(ctx))
    assert r.returncode != 0 and "Kubefile:2" in r.stderr and "FROM" in r.stderr
    assert "Traceback" not in r.stderr


def test_tag_rmi_frees_blobs_and_save_load_round_trip(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    sealer("build", "-b", "lite", "-t", "one:v1", str(ctx))
    (ctx / "a.txt").write_text("other\n")
    sealer("build", "-b", "lite", "-t", "two:v1", str(ctx))
    sealer("tag", "one:v1", "registry.local:5000/ops/one:v9")
    names = {i["name"] for i in sealer.json("images")}
    assert names == {"docker.io/library/one:v1", "docker.io/library/two:v1", "registry.local:5000/ops/one:v9"}
    tarball = tmp_path / "out.tar"
    sealer("save", "-o", str(tarball), "one:v1", "two:v1")
    other = Sealer(tmp_path / "store2")
    loaded = other.json("load", "-i", str(tarball))["loaded"]
    assert set(loaded) == {"docker.io/library/one:v1", "docker.io/library/two:v1"}
    assert other.json("inspect", "one:v1")["digest"] == sealer.json("inspect", "one:v1")["digest"]
    # skopeo reads the saved archive as an OCI layout too
    lay = tmp_path / "layout"
    lay.mkdir()
    with tarfile.open(tarball) as tf:
        tf.extractall(lay, filter="data")
    subprocess.run(["skopeo", "inspect", f"oci:{lay}:docker.io/library/two:v1"], check=True, capture_output=True)
    # rmi: untag keeps shared blobs, frees the rest
    blobs = lambda: set(os.listdir(sealer.root / "blobs" / "sha256"))  # noqa: E731
    before = blobs()
    res = sealer.json("rmi", "two:v1")
    assert res["removed"] == ["docker.io/library/two:v1"] and res["blobsFreed"] > 0
    after = blobs()
    assert after < before
    one = Store(sealer.root)
    assert {d.hex for d in one.referenced_blobs()} <= after
    sealer("inspect", "one:v1")
    r = sealer("rmi", "nope:v1", ok=False)
    assert r.exit_code != 0 and "no such image" in r.output


def test_load_of_corrupt_archive_changes_nothing(tmp_path: Path, sealer: Sealer) -> None:
    ctx = make_context(tmp_path)
    sealer("build", "-b", "lite", "-t", "one:v1", str(ctx))
    tarball = tmp_path / "out.tar"
    sealer("save", "-o", str(tarball), "one:v1")
    other = Sealer(tmp_path / "store2")
    other("gc")  # creates the empty store (read-only commands such as `images` do not)
    idx_before = (other.root / "index.json").read_bytes()
    data = bytearray(tarball.read_bytes())
    # flip a byte inside the last blob's content
    with tarfile.open(tarball) as tf:
        last = [m for m in tf.getmembers() if m.name.startswith("blobs/")][-1]
    data[last.offset_data + 1] ^= 0xFF
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    r = other("load", "-i", str(bad), ok=False)
    assert r.exit_code != 0 and "digest" in r.output
    truncated = tmp_path / "trunc.tar"
    truncated.write_bytes(bytes(tarball.read_bytes()[: len(data) // 2]))
    r = other("load", "-i", str(truncated), ok=False)
    assert r.exit_code != 0
    assert (other.root / "index.json").read_bytes() == idx_before
    assert os.listdir(other.root / "blobs" / "sha256") == []
    assert os.listdir(other.root / "ingest") == []
    shutil.rmtree(other.root)
