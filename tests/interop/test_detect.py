"""detect() on sealer v0.7/v0.8 and v0.9 images built from the documented structure, on our own labels,
and on plain OCI images; the sealer images also go through a real docker-registry (pushed and read back
with skopeo) to prove the fixtures are valid images."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from helpers.registry import Registry, skopeo

from interop.fixtures import (
    V09_CMDS,
    V09_COPY_HEX,
    PlatformImage,
    sealer_v08_image,
    sealer_v09_image,
)
from sealer.interop import detect, read_metadata, with_rootfs
from sealer.oci.model import Manifest, ManifestError, Platform, parse_any, parse_config

V08_CMDS = ["kubectl apply -f etc/tigera-operator.yaml", "kubectl apply -f manifests/dashboard.yaml",
            "echo done && date > /tmp/x"]
V08_KINDS = ["COPY . .", "RUN echo built > etc/run-marker.txt", "COPY dashboard.yaml manifests",
             "BASE rootfs cache"]


def unpack(img: PlatformImage, dest: Path) -> Path:
    import gzip
    for layer in img.layers:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.data))) as tf:
            tf.extractall(dest, filter="data")
    return dest


def info_of(img: PlatformImage, **kw: Any) -> Any:
    return detect(Manifest.parse(img.manifest_raw), parse_config(img.config_raw), **kw)


@pytest.mark.parametrize("cmd_style", ["config", "layers"])
def test_sealer_v08_image(cmd_style: str, tmp_path: Path) -> None:
    img = sealer_v08_image(cmd_style=cmd_style)
    amd = img.for_platform("linux/amd64")
    info = info_of(amd)
    assert info.format == "sealer-v0.8"
    assert info.cmds == V08_CMDS                    # v0.7 CMD layers / v0.8 parent then current
    assert info.layer_kinds == V08_KINDS            # one per manifest layer; CMD layers have no blob
    assert len(info.layer_kinds) == len(amd.manifest["layers"])
    assert info.platform == Platform("linux", "amd64")
    assert info.clusterfile is not None and "kind: Cluster" in info.clusterfile
    assert "image: registry.cn-qingdao.aliyuncs.com/sealer-io/kubernetes:v1.19.8" in info.clusterfile
    assert info.sealer_version == "v0.8.6"
    assert info.kube_version is None                # only the rootfs Metadata knows it
    assert "sealer v0.5-v0.8" in info.title

    rootfs = unpack(amd, tmp_path / "rootfs")
    md = read_metadata(rootfs)
    assert md is not None and md.version == "v1.19.8" and md.arch == "amd64"
    assert info_of(amd, metadata=md).kube_version == "v1.19.8"
    full = with_rootfs(info, rootfs)
    assert full.kube_version == "v1.19.8"
    assert full.container_images == ["library/busybox:1.36"]


def test_sealer_v08_arm64_child() -> None:
    info = info_of(sealer_v08_image().for_platform("linux/arm64"))
    assert info.platform == Platform("linux", "arm64") and info.cmds == V08_CMDS


def test_sealer_v08_layer_count_mismatch_is_refused() -> None:
    amd = sealer_v08_image().for_platform("linux/amd64")
    m = json.loads(amd.manifest_raw)
    m["layers"] = m["layers"][:-1]
    with pytest.raises(ManifestError, match="config lists 4 layers with content but the manifest has 3"):
        detect(Manifest.parse(json.dumps(m).encode()), amd.config)


def test_sealer_v09_image(tmp_path: Path) -> None:
    img = sealer_v09_image()
    p = img.images[0]
    info = info_of(p)
    assert info.format == "sealer-v0.9"
    assert info.cmds == V09_CMDS
    assert info.container_images == ["docker.io/library/busybox:1.36"]
    assert info.image_type == "kube-installer"
    assert info.sealer_version == "v0.9.3"
    assert info.extension is not None and info.extension["launch"]["cmds"] == V09_CMDS
    assert info.platform == Platform("linux", "amd64")
    assert info.layer_kinds == [f"COPY dir:{V09_COPY_HEX[0]} in .", f"COPY file:{V09_COPY_HEX[1]} in manifests",
                                f"COPY dir:{V09_COPY_HEX[2]} in registry"]
    assert info.clusterfile is None
    assert with_rootfs(info, unpack(p, tmp_path / "r")).kube_version == "v1.22.15"


def _oci(labels: dict[str, str], annotations: dict[str, str] | None = None) -> tuple[Manifest, dict[str, Any]]:
    config = {"architecture": "arm64", "os": "linux", "config": {"Labels": labels},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
              "history": [{"created_by": "COPY manifests ."}, {"created_by": "CMD kubectl apply", "empty_layer": True}]}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "2" * 64,
                           "size": 10},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": "sha256:" + "3" * 64, "size": 5}]}
    if annotations:
        manifest["annotations"] = annotations
    return Manifest.parse(json.dumps(manifest).encode()), config


def test_our_own_labels() -> None:
    from sealer.interop import sealer_annotations
    labels = {"io.sealer.build-type": "lite", "io.sealer.cmds": json.dumps(["base cmd", "our cmd"]),
              "io.sealer.images": json.dumps([{"reference": "docker.io/library/nginx:1.25", "digest": "sha256:" + "4" * 64,
                                               "platforms": ["linux/arm64"]}]),
              "io.sealer.kube-version": "v1.19.8", "io.sealer.version": "sealer-py-v0.1.0"}
    ann = sealer_annotations(cmds=["base cmd", "our cmd"], images=[("nginx:1.25", "linux/arm64")],
                             kube_installer=True, sealer_version="sealer-py-v0.1.0")
    info = detect(*_oci(labels, ann))
    assert info.format == "sealer-py" and "sealer-py" in info.title
    assert info.cmds == ["base cmd", "our cmd"]
    assert info.container_images == ["docker.io/library/nginx:1.25"]
    assert info.kube_version == "v1.19.8" and info.build_type == "lite"
    assert info.image_type == "kube-installer" and info.sealer_version == "sealer-py-v0.1.0"
    assert info.layer_kinds == ["COPY manifests ."] and info.platform == Platform("linux", "arm64")
    assert info.to_json()["platform"] == "linux/arm64"


def test_plain_oci_image() -> None:
    info = detect(*_oci({}))
    assert info.format == "oci" and not info.is_sealer
    assert info.cmds == [] and info.container_images == [] and info.extension is None


def test_v09_detected_by_label_alone_docker_format() -> None:
    """buildah's docker format drops manifest annotations; the io.sealer.version label remains."""
    info = detect(*_oci({"io.sealer.version": "v0.9.0"}))
    assert info.format == "sealer-v0.9" and info.sealer_version == "v0.9.0" and info.cmds == []


def test_bad_our_labels() -> None:
    with pytest.raises(ManifestError, match="label io.sealer.cmds"):
        detect(*_oci({"io.sealer.cmds": "[1, 2]"}))
    with pytest.raises(ManifestError, match="label io.sealer.images: not JSON"):
        detect(*_oci({"io.sealer.build-type": "lite", "io.sealer.images": "nope"}))


def _fetch(reg: Registry, ref: str) -> tuple[Manifest, dict[str, Any]]:
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}").stdout.encode()
    doc = parse_any(raw)
    assert isinstance(doc, Manifest)
    cfg = skopeo("inspect", "--tls-verify=false", "--config", "--raw", f"docker://{ref}").stdout.encode()
    return doc, parse_config(cfg)


def test_fixtures_survive_a_real_registry(registry: Registry) -> None:
    v08, v09 = sealer_v08_image(), sealer_v09_image()
    v08.push(registry, "sealer-io/kubernetes:v1.19.8")
    v09.push(registry, "sealer-io/kubernetes:v1.22.15")
    top = skopeo("inspect", "--tls-verify=false", "--raw",
                 f"docker://{registry.ref('sealer-io/kubernetes:v1.19.8')}").stdout.encode()
    assert top == v08.top_raw       # a docker manifest list, byte for byte
    for arch in ("amd64", "arm64"):
        child = v08.for_platform(f"linux/{arch}")
        m, cfg = _fetch(registry, f"{registry.ref('sealer-io/kubernetes')}@{child.digest}")
        assert m.media_type == "application/vnd.docker.distribution.manifest.v2+json"
        assert m.raw == child.manifest_raw and cfg == child.config
        info = detect(m, cfg)
        assert (info.format, info.cmds, info.platform) == ("sealer-v0.8", V08_CMDS, Platform("linux", arch))
    m, cfg = _fetch(registry, registry.ref("sealer-io/kubernetes:v1.22.15"))
    assert str(m.digest) == v09.digest
    info = detect(m, cfg)
    assert (info.format, info.cmds, info.container_images) == ("sealer-v0.9", V09_CMDS,
                                                              ["docker.io/library/busybox:1.36"])
