"""End to end (issue 9, "Must show"): official-style sealer bases in both formats, pushed to a real
docker-registry with skopeo, used as FROM in a lite build through the real CLI.

Checked on the result: rootfs content (base layers unpacked in order, then ours), CMD order (base first),
no re-pull of the image the base already caches in registry/ (requests counted by a proxy in front of the
registry), Kubernetes version from the base's Metadata, ``sealer inspect`` naming the base's format, and
our sealer v0.9 annotations valid against the schema written from sealer's Go struct tags.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry

from interop.fixtures import SealerImage, cached_image, sealer_v08_image, sealer_v09_image
from interop.sealer_schema import CONTAINER_IMAGES, IMAGE_EXTENSION
from sealer.interop import detect
from sealer.store import Store

OUR_CMD = "kubectl apply -f manifests/app.yaml"


@pytest.fixture
def counted(registry: Registry) -> Iterator[FaultProxy]:
    """A pass-through proxy in front of the registry that records every request."""
    with FaultProxy(registry) as px:
        yield px


def sealer(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    conf = os.environ.get("SEALER_REGISTRIES_CONF")
    if conf and not Path(conf).exists():   # an empty mirrors file: no mirrors configured
        Path(conf).parent.mkdir(parents=True, exist_ok=True)
        Path(conf).write_text("")
    p = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(root), *args],
                       capture_output=True, text=True, timeout=300, check=False)
    if check and p.returncode != 0:
        raise AssertionError(f"sealer {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def blob_gets(px: FaultProxy, repository: str) -> list[str]:
    pat = re.compile(rf"^/v2/{re.escape(repository)}/blobs/sha256:[0-9a-f]{{64}}")
    return [path for method, path, _ in px.requests if method == "GET" and pat.match(path)]


def make_context(tmp_path: Path, base_ref: str, images: list[str]) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text(
        f"FROM {base_ref}\n"
        "COPY app.yaml manifests/\n"
        "COPY imageList manifests/\n"
        f"CMD {OUR_CMD}\n")
    (ctx / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {k: v}\n")
    (ctx / "imageList").write_text("".join(i + "\n" for i in images))
    return ctx


def build_from(base: SealerImage, registry: Registry, px: FaultProxy, tmp_path: Path) -> dict[str, Any]:
    """Push ``base`` + the images, build FROM it through the counting proxy; return what we observed."""
    base.push(registry, "sealer-io/kubernetes:base")
    base.cached.push(registry)                      # upstream has it too: a naive build would re-pull it
    new = cached_image("library/newapp", "1.0")
    new.push(registry)
    cached_ref, new_ref = base.cached.reference(px.host), new.reference(px.host)
    ctx = make_context(tmp_path, f"{px.host}/sealer-io/kubernetes:base", [cached_ref, new_ref])
    root = tmp_path / "store"
    sealer(root, "build", "-b", "lite", "--insecure-registry", px.host, "-t", "test/from-sealer:v1", "-q", str(ctx))
    rootfs = tmp_path / "rootfs"
    store = Store(root)
    img = store.export_rootfs("test/from-sealer:v1", rootfs)
    inspect_text = sealer(root, "inspect", "test/from-sealer:v1").stdout
    inspect_json = json.loads(sealer(root, "inspect", "--json", "test/from-sealer:v1").stdout)
    return {"root": root, "rootfs": rootfs, "image": img, "inspect_text": inspect_text, "inspect": inspect_json,
            "cached_ref": cached_ref, "new_ref": new_ref, "new": new}


@pytest.mark.parametrize("make_base", [sealer_v08_image, sealer_v09_image], ids=["sealer-v0.8", "sealer-v0.9"])
def test_lite_build_from_sealer_image(make_base: Any, registry: Registry, counted: FaultProxy,
                                      tmp_path: Path) -> None:
    base: SealerImage = make_base()
    got = build_from(base, registry, counted, tmp_path)
    rootfs: Path = got["rootfs"]

    # rootfs: every base layer, in order, then ours
    base_files = base.for_platform("linux/amd64").rootfs_files()
    for path in ("Metadata", "bin/kubeadm", "scripts/init.sh"):
        assert (rootfs / path).read_bytes() == base_files[path], path
    if base.format == "sealer-v0.8":
        assert (rootfs / "etc/run-marker.txt").read_text() == "built\n"          # the base's RUN layer
        assert (rootfs / "manifests/dashboard.yaml").is_file()
    assert (rootfs / "manifests/app.yaml").is_file() and (rootfs / "manifests/imageList").is_file()

    # CMDs: the base's first, in their order, then ours
    info = detect(got["image"].manifest, got["image"].config)
    assert info.format == "sealer-py"
    assert info.cmds == [*base.cmds, OUR_CMD]
    assert got["inspect"]["cmds"] == [*base.cmds, OUR_CMD]

    # no re-pull: the base's registry/ already holds library/busybox:1.36
    assert blob_gets(counted, base.cached.repository) == [], "the base's cached image was downloaded again"
    assert blob_gets(counted, "library/newapp"), "the new image was not pulled (is the request count working?)"
    repos = rootfs / "registry/docker/registry/v2/repositories"
    link = repos / base.cached.repository / "_manifests/tags" / base.cached.tag / "current/link"
    assert link.read_text() == base.cached.manifest_digest
    assert (repos / "library/newapp/_manifests/tags/1.0/current/link").read_text() == got["new"].manifest_digest

    # the base's Metadata gives the Kubernetes version
    assert info.kube_version == base.kube_version
    assert got["inspect"]["kubernetesVersion"] == base.kube_version

    # our sealer v0.9 annotations, as sealer's structs would marshal them
    ann = got["image"].manifest.annotations or {}
    ext = json.loads(ann["sealer.image.extension"])
    jsonschema.validate(ext, IMAGE_EXTENSION)
    assert ext["type"] == "kube-installer"
    assert ext["launch"]["cmds"] == [*base.cmds, OUR_CMD]
    images = json.loads(ann["sealer.image.container.images"])
    jsonschema.validate(images, CONTAINER_IMAGES)
    listed = {i["image"] for i in images}
    assert got["new_ref"] in listed

    # a valid OCI image: config diff_ids are the digests of the uncompressed layers (v0.8 configs have none)
    store = Store(got["root"])
    diff_ids = got["image"].config["rootfs"]["diff_ids"]
    assert len(diff_ids) == len(got["image"].manifest.layers)
    for desc, diff_id in zip(got["image"].manifest.layers, diff_ids, strict=True):
        data = store.read_blob(desc.digest, limit=1 << 30)
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert diff_id == "sha256:" + hashlib.sha256(raw).hexdigest(), f"diff_id of {desc.digest}"

    # inspect names the source format
    assert base.format in got["inspect_text"]
    assert base.format in json.dumps(got["inspect"])
