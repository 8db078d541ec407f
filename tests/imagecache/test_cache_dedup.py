"""Version dedup: a new cluster image version that changes one cached image moves only that image's bytes."""

from __future__ import annotations

from pathlib import Path

from cache_kit import dir_bytes, store_cluster_image
from helpers.registry import Registry, push_test_image, skopeo, start_registry

from sealer import reference
from sealer.imagecache.cache import cache_images
from sealer.oci.model import Platform
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store import Store

AMD64 = Platform.parse("linux/amd64")


def test_changing_one_image_changes_one_layer(registry: Registry, tmp_path: Path) -> None:
    names = []
    for i in range(20):
        # images 0-9 share a 400 kB base layer; every image has its own layer
        sizes = [400_000, 60_000 + i * 1000] if i < 10 else [80_000 + i * 1000]
        push_test_image(registry, f"app/img{i}:v1", sizes, seed=100 if i < 10 else 100 + i)
        names.append(f"app/img{i}:v1")
    changed = push_test_image(registry, "app/img3:v2", [400_000, 90_000], seed=100)
    changed_size = sum(changed.manifests[0].layer_sizes)
    store = Store(tmp_path / "store")
    client = RegistryClient(RegistryOptions(use_mirrors=False))

    def build(tags: list[str], name: str) -> list[object]:
        refs = [(reference.parse(registry.ref(t)), ["manifests/imageList"]) for t in tags]
        res = cache_images(refs, store=store, client=client, platforms=[AMD64], workdir=tmp_path,
                           progress=False)
        store_cluster_image(store, name, res.layers, res.images)
        return list(res.layers)

    v1 = build(names, "demo/cluster:v1")
    v2_names = [n if n != "app/img3:v1" else "app/img3:v2" for n in names]
    v2 = build(v2_names, "demo/cluster:v2")
    d1 = {x.descriptor.digest: x.descriptor.size for x in v1}  # type: ignore[attr-defined]
    d2 = {x.descriptor.digest: x.descriptor.size for x in v2}  # type: ignore[attr-defined]
    new = {d: s for d, s in d2.items() if d not in d1}
    assert len(new) == 1, "only the changed image's layer differs"
    assert sum(new.values()) < 1.5 * changed_size

    # push both versions; the second push stores only the new layer (+ manifest and config)
    with start_registry(tmp_path / "target") as target:
        blobs = target.storage / "docker/registry/v2/blobs"
        for tag in ("v1", "v2"):
            before = dir_bytes(blobs) if blobs.exists() else 0
            skopeo("copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                   f"oci:{store.root}:docker.io/demo/cluster:{tag}", f"docker://{target.ref('demo/cluster:' + tag)}")
            grown = dir_bytes(blobs) - before
        assert grown < 1.5 * changed_size, f"second push stored {grown} bytes, changed image is {changed_size}"
