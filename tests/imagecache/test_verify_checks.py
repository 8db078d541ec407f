"""``imagecache/verify.py`` problem by problem, on a registry tree written by the real docker-registry (images
pushed with skopeo from layouts generated in test code), broken one file at a time. Every expected message, size
and platform is computed here from the generated images, not taken from the code under test."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.registry import TestImage as Pushed
from helpers.registry import push_test_image, start_registry

from sealer.digest import Digest
from sealer.distlayout.layout import blob_data_path, layer_link_path, revision_link_path, tag_current_path
from sealer.errors import SealerError
from sealer.imagecache.model import ServedImage
from sealer.imagecache.verify import (
    DirView,
    ImageCheck,
    VerifyReport,
    check_image,
    inspect_dir_image,
    verify_registry,
)
from sealer.oci.labels import RecordedImage

ONE, MULTI = "one/app", "multi/app"


@dataclass
class Tree:
    root: Path
    host: str
    one: Pushed
    multi: Pushed

    def blob(self, d: str) -> Path:
        return self.root / blob_data_path(Digest(d))

    def served(self, repo: str, img: Pushed, digest: str | None = None, **kw: object) -> ServedImage:
        return ServedImage(f"{self.host}/{repo}:v1", Digest(digest or img.digest), img.media_type, [], 0, [],
                           **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    work = tmp_path_factory.mktemp("verifyreg")
    with start_registry(work / "reg") as reg:
        one = push_test_image(reg, f"{ONE}:v1", [3000, 2000], seed=21)
        multi = push_test_image(reg, f"{MULTI}:v1", [1500], platforms=["linux/amd64", "linux/arm64/v8"], seed=22)
        host = reg.host
    yield Tree(reg.storage, host, one, multi)


@pytest.fixture
def tree(pristine: Tree, tmp_path: Path) -> Tree:
    root = tmp_path / "root"
    shutil.copytree(pristine.root, root)
    return Tree(root, pristine.host, pristine.one, pristine.multi)


def _size_of(img: Pushed, tree: Tree) -> int:
    """Every manifest's bytes, plus every config and layer blob's size, as the generated layout has them."""
    total = len(img.raw) if img.is_index else 0
    for m in img.manifests:
        total += len(m.raw) + tree.blob(m.config_digest).stat().st_size + sum(m.layer_sizes)
    return total


def _check(tree: Tree, repo: str, img: Pushed, want: str | None = None, tag: str | None = "v1",
           platforms: list[str] | None = None) -> ImageCheck:
    return check_image(DirView(tree.root), f"N-{repo}", repo, tag, Digest(want) if want else None, platforms)


def test_complete_images_report_digest_type_size_and_platforms(tree: Tree) -> None:
    c = _check(tree, ONE, tree.one)
    assert (c.reference, c.problems, str(c.digest), c.media_type) == (f"N-{ONE}", [], tree.one.digest,
                                                                        tree.one.media_type)
    assert c.platforms == ["linux/amd64"] and c.size == _size_of(tree.one, tree)
    m = _check(tree, MULTI, tree.multi)
    assert (m.problems, str(m.digest), m.media_type) == ([], tree.multi.digest, tree.multi.media_type)
    assert m.platforms == ["linux/amd64", "linux/arm64/v8"] and m.size == _size_of(tree.multi, tree)
    served = [tree.served(ONE, tree.one), tree.served(MULTI, tree.multi)]
    assert verify_registry(tree.root, served) == [] and verify_registry(tree.root) == []


def test_pinned_by_digest_without_a_tag(tree: Tree) -> None:
    (tree.root / tag_current_path(ONE, "v1")).unlink()
    c = _check(tree, ONE, tree.one, want=tree.one.digest, tag=None)
    assert c.problems == [] and str(c.digest) == tree.one.digest


def test_missing_tag_link(tree: Tree) -> None:
    (tree.root / tag_current_path(ONE, "v1")).unlink()
    c = _check(tree, ONE, tree.one, want=tree.one.digest)
    assert c.problems == [f"N-{ONE}: tag link {ONE}:v1 is missing"] and c.digest is None and c.size == 0
    # a full scan no longer sees the tag at all; a named scan names the image by its reference
    assert verify_registry(tree.root) == []
    assert verify_registry(tree.root, [tree.served(ONE, tree.one)]) == [
        f"{tree.host}/{ONE}:v1: tag link {ONE}:v1 is missing"]


def test_tag_pointing_elsewhere_than_recorded(tree: Tree) -> None:
    other = tree.multi.digest
    c = _check(tree, ONE, tree.one, want=other)
    assert c.problems == [f"N-{ONE}: tag {ONE}:v1 points at {tree.one.digest}, recorded {other}"]
    assert str(c.digest) == tree.one.digest and c.size == _size_of(tree.one, tree)


def test_manifest_without_revision_link_missing_or_corrupt(tree: Tree) -> None:
    d = tree.one.digest
    (tree.root / revision_link_path(ONE, Digest(d))).unlink()
    assert _check(tree, ONE, tree.one).problems == [f"N-{ONE}: manifest {d} has no revision link in {ONE}"]
    bad = tree.one.raw.replace(b"schemaVersion", b"schemaVersioN")
    tree.blob(d).write_bytes(bad)
    c = _check(tree, ONE, tree.one)
    assert c.problems[1:] == [f"N-{ONE}: manifest {d} is corrupt (content digest sha256:"
                              f"{hashlib.sha256(bad).hexdigest()})"] and c.size == 0
    tree.blob(d).unlink()
    assert _check(tree, ONE, tree.one).problems[1:] == [f"N-{ONE}: manifest {d} is missing"]


def test_not_a_manifest(tree: Tree) -> None:
    """A tag (with its revision link) pointing at the config blob: readable, right digest, not a manifest."""
    cfg = tree.one.manifests[0].config_digest
    (tree.root / tag_current_path(ONE, "v1")).write_text(cfg)
    link = tree.root / revision_link_path(ONE, Digest(cfg))
    link.parent.mkdir(parents=True)
    link.write_text(cfg)
    c = _check(tree, ONE, tree.one)
    assert len(c.problems) == 1 and c.problems[0].startswith(f"N-{ONE}: manifest {cfg}: "), c.problems
    assert c.media_type == "" and c.platforms == []


def test_layer_and_config_problems_each_named(tree: Tree) -> None:
    man = tree.one.manifests[0]
    cfg, l0, l1 = man.config_digest, *man.layer_digests
    (tree.root / layer_link_path(ONE, Digest(l1))).unlink()
    data0 = tree.blob(l0)
    data0.write_bytes(data0.read_bytes()[:-7])
    tree.blob(cfg).unlink()
    c = _check(tree, ONE, tree.one)
    assert c.problems == [
        f"N-{ONE}: config {cfg} is missing",
        f"N-{ONE}: layer 0 {l0} has {man.layer_sizes[0] - 7} bytes, want {man.layer_sizes[0]}",
        f"N-{ONE}: layer 1 {l1} has no _layers link in {ONE}",
    ]
    assert c.platforms == []      # no config to read the platform from
    # the size counts what the manifest announces, present or not
    assert c.size == len(man.raw) + json.loads(man.raw)["config"]["size"] + sum(man.layer_sizes)


def test_corrupt_layer_of_the_same_size_needs_rehashing(tree: Tree) -> None:
    l1 = tree.one.manifests[0].layer_digests[1]
    raw = bytearray(tree.blob(l1).read_bytes())
    raw[10] ^= 0x55
    tree.blob(l1).write_bytes(bytes(raw))
    want = [f"N-{ONE}: layer 1 {l1} is corrupt (content does not match its digest)"]
    assert _check(tree, ONE, tree.one).problems == want
    assert inspect_dir_image(tree.root, f"N-{ONE}", ONE, "v1", None, rehash=True).problems == want
    quick = inspect_dir_image(tree.root, f"N-{ONE}", ONE, "v1", None)     # presence and size only
    assert quick.problems == [] and quick.size == _size_of(tree.one, tree)
    tree.blob(l1).unlink()
    assert inspect_dir_image(tree.root, f"N-{ONE}", ONE, "v1", None).problems == [
        f"N-{ONE}: layer 1 {l1} is missing"]


def test_index_children_and_wanted_platforms(tree: Tree) -> None:
    amd, arm = tree.multi.manifests
    top = tree.multi.digest
    tree.blob(arm.digest).unlink()
    assert _check(tree, MULTI, tree.multi).problems == [
        f"N-{MULTI}: child manifest (linux/arm64/v8) {arm.digest} is missing"]
    # not wanted and absent: a platform the registry does not carry
    c = _check(tree, MULTI, tree.multi, platforms=["linux/amd64"])
    assert c.problems == [] and c.platforms == ["linux/amd64"]
    assert c.size == len(tree.multi.raw) + len(amd.raw) + tree.blob(amd.config_digest).stat().st_size \
        + sum(amd.layer_sizes)
    # wanted but absent (an arm64 without variant matches arm64/v8; another variant does not)
    assert _check(tree, MULTI, tree.multi, platforms=["linux/arm64"]).problems == [
        f"N-{MULTI}: child manifest (linux/arm64/v8) {arm.digest} is missing"]
    assert _check(tree, MULTI, tree.multi, platforms=["linux/amd64", "linux/s390x"]).problems == [
        f"N-{MULTI}: no manifest for platform linux/s390x in index {top}"]


def test_wanted_platform_matching_by_variant(tree: Tree) -> None:
    ok = ["linux/amd64", "linux/arm64", "linux/arm64/v8"]
    assert _check(tree, MULTI, tree.multi, platforms=ok).problems == []
    assert _check(tree, MULTI, tree.multi, platforms=["linux/arm64/v7", "windows/amd64", "linux/arm/v8"]).problems \
        == [f"N-{MULTI}: no manifest for platform {p} in index {tree.multi.digest}"
            for p in ["linux/arm64/v7", "windows/amd64", "linux/arm/v8"]]


def test_unwanted_child_still_checked_when_its_blob_is_present(tree: Tree) -> None:
    """The arm64 manifest's revision link is gone but its data is there: it is carried, so it is checked."""
    arm = tree.multi.manifests[1]
    (tree.root / revision_link_path(MULTI, Digest(arm.digest))).unlink()
    c = _check(tree, MULTI, tree.multi, platforms=["linux/amd64"])
    assert c.problems == [f"N-{MULTI}: child manifest (linux/arm64/v8) {arm.digest} has no revision link in {MULTI}"]
    assert c.platforms == ["linux/amd64", "linux/arm64/v8"]


def test_child_layer_problem_in_an_index(tree: Tree) -> None:
    arm = tree.multi.manifests[1]
    tree.blob(arm.layer_digests[0]).unlink()
    assert _check(tree, MULTI, tree.multi).problems == [f"N-{MULTI}: layer 0 {arm.layer_digests[0]} is missing"]


def test_repository_and_tag_of_a_served_image_win_over_its_reference(tree: Tree) -> None:
    # recorded elsewhere (a mirror path), served from one/app:v1 as the record says
    img = ServedImage("quay.io/else/where:v9", Digest(tree.one.digest), tree.one.media_type, [], 0, [],
                      repository=ONE, tag="v1")
    assert verify_registry(tree.root, [img]) == []
    rec = RecordedImage(f"{tree.host}/{ONE}:v1", Digest(tree.one.digest), ())
    assert verify_registry(tree.root, [rec]) == []  # type: ignore[list-item]
    gone = RecordedImage(f"{tree.host}/{ONE}:v2", Digest(tree.one.digest), ())
    assert verify_registry(tree.root, [gone]) == [  # type: ignore[list-item]
        f"{tree.host}/{ONE}:v2: tag link {ONE}:v2 is missing"]
    with pytest.raises(SealerError, match="verify Not A Ref: not a valid image reference"):
        verify_registry(tree.root, [RecordedImage("Not A Ref", Digest(tree.one.digest), ())])  # type: ignore[list-item]


def test_full_scan_names_repository_and_tag(tree: Tree) -> None:
    arm = tree.multi.manifests[1]
    tree.blob(arm.config_digest).unlink()
    assert verify_registry(tree.root) == [f"{MULTI}:v1: config {arm.config_digest} is missing"]


def test_report_json() -> None:
    ok = ImageCheck("a:1", Digest("sha256:" + "1" * 64), "m", ["linux/amd64"], 10, [], "src")
    bad = ImageCheck("b:1", None, problems=["b:1: broken"])
    rep = VerifyReport("c:v1", [ok, bad], [], 2, 30, "label", ["x:1"], ["n"])
    assert rep.ok and not VerifyReport("c", [], ["p"]).ok
    assert rep.to_json() == {
        "image": "c:v1", "ok": True, "problems": [], "blobs": 2, "bytes": 30, "record": "label",
        "unrecorded": ["x:1"], "notes": ["n"],
        "images": [{"reference": "a:1", "digest": "sha256:" + "1" * 64, "platforms": ["linux/amd64"], "size": 10,
                    "ok": True, "source": "src"},
                   {"reference": "b:1", "digest": None, "platforms": [], "size": 0, "ok": False, "source": ""}]}
    empty = VerifyReport("d", [], [])
    assert (empty.blobs, empty.bytes, empty.record, empty.unrecorded, empty.notes) == (0, 0, "", [], [])


def test_recorded_digest_is_compared_by_every_entry_point(tree: Tree) -> None:
    other = tree.multi.digest
    want = [f"{tree.host}/{ONE}:v1: tag {ONE}:v1 points at {tree.one.digest}, recorded {other}"]
    assert verify_registry(tree.root, [tree.served(ONE, tree.one, digest=other)]) == want
    c = inspect_dir_image(tree.root, f"N-{ONE}", ONE, "v1", Digest(other))
    assert c.problems == [f"N-{ONE}: tag {ONE}:v1 points at {tree.one.digest}, recorded {other}"]


def test_inspect_dir_image_honours_wanted_platforms(tree: Tree) -> None:
    arm = tree.multi.manifests[1]
    tree.blob(arm.digest).unlink()
    assert inspect_dir_image(tree.root, "m", MULTI, "v1", None, want_platforms=["linux/amd64"]).problems == []
    assert inspect_dir_image(tree.root, "m", MULTI, "v1", None).problems == [
        f"m: child manifest (linux/arm64/v8) {arm.digest} is missing"]


def _put(tree: Tree, repo: str, doc: dict[str, object], tag: str | None = None) -> tuple[str, bytes]:
    """Write a manifest or index by hand into the tree as the registry lays it out: blob, revision link, tag."""
    raw = json.dumps(doc).encode()
    d = "sha256:" + hashlib.sha256(raw).hexdigest()
    tree.blob(d).parent.mkdir(parents=True, exist_ok=True)
    tree.blob(d).write_bytes(raw)
    for rel in [revision_link_path(repo, Digest(d))] + ([tag_current_path(repo, tag)] if tag else []):
        (tree.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree.root / rel).write_text(d)
    return d, raw


FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
ABSENT = {"digest": "sha256:" + hashlib.sha256(b"elsewhere").hexdigest(), "size": 9}


@pytest.mark.parametrize("extra,checked", [
    ({"mediaType": FOREIGN, "urls": ["https://example.invalid/l"]}, False),     # foreign, fetched elsewhere
    ({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "urls": ["https://example.invalid/l"]}, True),
    ({"mediaType": FOREIGN}, True),                                               # foreign without a URL
])
def test_foreign_layers_are_not_looked_for(tree: Tree, extra: dict[str, object], checked: bool) -> None:
    man = json.loads(tree.one.manifests[0].raw)
    man["layers"] = [{**ABSENT, **extra}, *man["layers"]]
    _, raw = _put(tree, ONE, man, "v2")
    c = check_image(DirView(tree.root), "f", ONE, "v2", None)
    real = len(raw) + man["config"]["size"] + sum(tree.one.manifests[0].layer_sizes)
    if checked:
        assert c.problems == [f"f: layer 0 {ABSENT['digest']} has no _layers link in {ONE}",
                              f"f: layer 0 {ABSENT['digest']} is missing"] and c.size == real + 9
    else:
        assert c.problems == [] and c.size == real


def test_index_child_declared_with_a_non_manifest_type(tree: Tree) -> None:
    amd = tree.multi.manifests[0]
    child = json.loads(amd.raw)
    del child["mediaType"]
    cd, craw = _put(tree, MULTI, child)
    desc = {"mediaType": "application/x-unknown", "digest": cd, "size": len(craw),
             "platform": {"os": "linux", "architecture": "amd64"}}
    top, _ = _put(tree, MULTI, {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                "manifests": [desc]}, "v3")
    c = check_image(DirView(tree.root), "x", MULTI, "v3", None)
    assert c.problems == ["x: child manifest: parse manifest: media type 'application/x-unknown' is not an image "
                          "manifest"], c.problems
    # the same child declared as an OCI manifest is fine
    top2, _ = _put(tree, MULTI, {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                 "manifests": [{**desc, "mediaType": "application/vnd.oci.image.manifest.v1+json"}]},
                   "v4")
    assert check_image(DirView(tree.root), "x", MULTI, "v4", None).problems == []
    assert top != top2


def test_later_children_checked_after_a_skipped_one(tree: Tree) -> None:
    amd, arm = tree.multi.manifests
    tree.blob(amd.digest).unlink()
    c = _check(tree, MULTI, tree.multi, platforms=["linux/arm64"])
    assert c.problems == [] and c.platforms == ["linux/arm64/v8"]


def test_index_children_without_platform_or_listed_twice(tree: Tree) -> None:
    amd, arm = tree.multi.manifests
    oci = "application/vnd.oci.image.manifest.v1+json"
    plat = {"os": "linux", "architecture": "amd64"}
    gone = {"mediaType": oci, "digest": "sha256:" + hashlib.sha256(b"gone").hexdigest(), "size": 4}
    kids = [{"mediaType": oci, "digest": amd.digest, "size": len(amd.raw), "platform": plat},
            {"mediaType": oci, "digest": amd.digest, "size": len(amd.raw), "platform": plat},
            {"mediaType": oci, "digest": arm.digest, "size": len(arm.raw)},
            gone]
    _put(tree, MULTI, {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": kids},
         "v5")
    c = check_image(DirView(tree.root), "x", MULTI, "v5", None)
    assert c.platforms == ["linux/amd64"]                      # once, and nothing for the children without one
    assert c.problems == [f"x: child manifest (no platform) {gone['digest']} has no revision link in {MULTI}",
                          f"x: child manifest (no platform) {gone['digest']} is missing"]
