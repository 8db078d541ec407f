"""Offline demo helpers (no internet): seed a local registry with small generated images, and check that a
cluster image's cached ``registry/`` is served by the stock docker-registry.

    python scripts/demo_seed.py seed  --registry 127.0.0.1:PORT --workdir DIR
    python scripts/demo_seed.py serve --root STORE --image demo-cluster:v1 --workdir DIR

Images are generated as OCI layouts in Python and pushed with skopeo (digests preserved). ``nginx:1.25`` and
``nginx:1.26`` share their base layer; ``busybox:1.36`` is a multi-arch index (linux/amd64 + linux/arm64).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.registry import skopeo, start_registry, write_oci_layout  # noqa: E402

# (path in the registry = the name a mirror is asked for, tag, layer sizes, seed, platforms)
IMAGES = [
    ("library/nginx", "1.25", [600_000, 120_000], 1, None),
    ("library/nginx", "1.26", [600_000, 130_000], 1, None),      # same seed + first size: shared base layer
    ("library/redis", "7.2", [500_000, 90_000], 2, None),
    ("library/busybox", "1.36", [300_000], 3, ["linux/amd64", "linux/arm64"]),
    ("prometheus/node-exporter", "v1.7.0", [400_000], 4, None),  # quay.io/prometheus/node-exporter
    ("pause", "3.9", [30_000], 5, None),                         # registry.k8s.io/pause
]


def seed(registry: str, workdir: Path) -> None:
    for path, tag, sizes, s, platforms in IMAGES:
        layout = workdir / path.replace("/", "_")
        img = write_oci_layout(layout, tag, sizes, seed=s, platforms=platforms)
        args = ["copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"]
        if platforms:
            args.append("--all")
        skopeo(*args, img.oci_ref, f"docker://{registry}/{path}:{tag}")
        kind = "index " + ",".join(platforms) if platforms else "manifest"
        print(f"  seeded {registry}/{path}:{tag}  {img.digest[:19]}  ({kind})")


def serve(root: Path, image: str, workdir: Path) -> int:
    """Unpack only the cached-image layers' registry/ of IMAGE and pull every recorded image back from a stock
    docker-registry serving that directory."""
    sys.path.insert(0, str(REPO / "src"))
    from sealer import reference
    from sealer.build.layers import open_layer
    from sealer.imagecache.cache import repository_name
    from sealer.oci import labels
    from sealer.store import Store
    from sealer.tario.extract import extract_layer

    store = Store(root)
    img = store.image(image)
    rootfs = workdir / "rootfs"
    for layer in img.manifest.layers:
        with open_layer(store, layer) as fp:
            extract_layer(fp, rootfs)
    srv = workdir / "srv"
    srv.mkdir(parents=True, exist_ok=True)
    (srv / "storage").symlink_to(rootfs / "registry")
    failures = 0
    with start_registry(srv) as reg:
        print(f"  stock docker-registry serving {rootfs / 'registry'} at {reg.host}")
        for rec in labels.cached_images(img.config):
            ref = reference.parse(str(rec["reference"]))
            name = f"{reg.host}/{repository_name(ref)}" + (f":{ref.tag}" if ref.tag else f"@{ref.digest}")
            try:
                raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{name}").stdout.encode()
                got = "sha256:" + hashlib.sha256(raw).hexdigest()
                skopeo("copy", "--quiet", "--all", "--src-tls-verify=false", f"docker://{name}",
                       f"oci:{workdir / 'pulled'}:{repository_name(ref).replace('/', '-')}")
                ok = got == rec["digest"]
                print(f"  {'pulled' if ok else 'DIGEST MISMATCH'} {ref}  {got[:19]}  "
                      f"{','.join(rec.get('platforms') or [])}")
                failures += 0 if ok else 1
            except RuntimeError as e:
                print(f"  FAILED {ref}: {e}")
                failures += 1
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--registry", required=True)
    s.add_argument("--workdir", type=Path, required=True)
    v = sub.add_parser("serve")
    v.add_argument("--root", type=Path, required=True)
    v.add_argument("--image", required=True)
    v.add_argument("--workdir", type=Path, required=True)
    a = ap.parse_args()
    if a.cmd == "seed":
        seed(a.registry, a.workdir)
        return 0
    return serve(a.root, a.image, a.workdir)


if __name__ == "__main__":
    sys.exit(main())
