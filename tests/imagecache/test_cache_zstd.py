"""zstd layers work wherever gzip layers do: a base image whose layer is zstd-compressed is pulled and unpacked
into the build's rootfs, and a zstd image is cached into the cluster image's registry/ (served back byte-exact).
The zstd images are made here with the ``zstandard`` package and pushed with skopeo (an independent client)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard
from click.testing import CliRunner
from helpers.registry import Registry, skopeo

from sealer.cli.main import cli

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def _blob(layout: Path, data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    p = layout / "blobs" / "sha256" / hexd
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return f"sha256:{hexd}"


def push_zstd_image(reg: Registry, tmp: Path, name: str, files: dict[str, bytes]) -> str:
    """An OCI image with one zstd layer holding ``files``; returns the manifest digest the registry serves."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in sorted(files.items()):
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    layer = zstandard.ZstdCompressor(level=3).compress(tar)
    layout = tmp / ("layout-" + name.replace("/", "_").replace(":", "_"))
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
                         "history": [{"created_by": "zstd test layer"}]}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _blob(layout, config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_ZSTD, "digest": _blob(layout, layer), "size": len(layer)}],
    }).encode()
    mdigest = _blob(layout, manifest)
    tag = name.rsplit(":", 1)[1]
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": mdigest, "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    skopeo("copy", "--quiet", "--preserve-digests", *reg.skopeo_args("dest"), f"oci:{layout}:{tag}",
           f"docker://{reg.ref(name)}")
    served = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.ref(name)}").stdout.encode()
    assert json.loads(served)["layers"][0]["mediaType"] == OCI_LAYER_ZSTD
    return "sha256:" + hashlib.sha256(served).hexdigest()


def _sealer(root: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_zstd_base_is_unpacked_and_zstd_image_is_cached(tmp_path: Path, registry: Registry) -> None:
    push_zstd_image(registry, tmp_path, "zstd/base:v1", {"Metadata": b'{"version": "v1.19.8", "arch": "amd64"}',
                                                          "etc/from-zstd.txt": b"unpacked from a zstd layer\n"})
    app_digest = push_zstd_image(registry, tmp_path, "zstd/app:v1", {"app/bin": b"\x7fELF" + b"z" * 5000})
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "imageList").write_text(f"{registry.host}/zstd/app:v1\n")
    (ctx / "Kubefile").write_text(f"FROM {registry.host}/zstd/base:v1\nCOPY imageList manifests\n"
                                  "RUN cat etc/from-zstd.txt > seen.txt\n")
    root = tmp_path / "store"
    _sealer(root, "build", "-q", "-b", "lite", "-t", "zstd-cluster:v1", str(ctx))
    doc = json.loads(_sealer(root, "inspect", "--json", "zstd-cluster:v1"))
    assert doc["kubernetesVersion"] == "v1.19.8"
    cached = {i["reference"]: i["digest"] for i in doc["cachedImages"]}
    assert cached == {f"{registry.host}/zstd/app:v1": app_digest}
    _sealer(root, "verify", "zstd-cluster:v1")
    rootfs = tmp_path / "rootfs"
    _sealer(root, "export-rootfs", "zstd-cluster:v1", str(rootfs))
    assert (rootfs / "seen.txt").read_text() == "unpacked from a zstd layer\n"
    # the cached zstd layer blob is the registry's, byte for byte
    reg_blob = rootfs / "registry" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    app_manifest = json.loads((reg_blob / app_digest[7:9] / app_digest[7:] / "data").read_bytes())
    layer = app_manifest["layers"][0]
    assert layer["mediaType"] == OCI_LAYER_ZSTD
    data = (reg_blob / layer["digest"][7:9] / layer["digest"][7:] / "data").read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(data).find(b"app/bin") >= 0
