"""Pull a ~500 MB multi-layer image from a local docker-registry with sealer, and with `skopeo copy` of the
same image in the same run; print both times and the ratio.

    .venv/bin/python bench/pull.py [--mb 500] [--layers 8] [--workdir .bench/pull]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers.registry import push_test_image, skopeo, start_registry  # noqa: E402

from sealer.registry import RegistryOptions, pull  # noqa: E402
from sealer.store.layout import Store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=500)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sealer-bench-pull-"))
    work.mkdir(parents=True, exist_ok=True)
    total = args.mb * 1_000_000
    sizes = [total // args.layers] * args.layers
    try:
        with start_registry(work / "registry") as reg:
            t = time.perf_counter()
            img = push_test_image(reg, "bench/big:v1", sizes, seed=1)
            print(f"seeded {img.total_size / 1e6:.0f} MB in {len(sizes)} layers ({time.perf_counter() - t:.1f}s)")
            ref = reg.ref("bench/big:v1")

            t = time.perf_counter()
            stored = pull(Store(work / "store"), ref, RegistryOptions())
            sealer_s = time.perf_counter() - t
            assert str(stored.descriptor.digest) == img.digest

            t = time.perf_counter()
            skopeo("copy", "--quiet", "--preserve-digests", *reg.skopeo_args("src"), f"docker://{ref}",
                   f"oci:{work / 'skopeo'}:v1")
            skopeo_s = time.perf_counter() - t
        mb = img.total_size / 1e6
        print(f"sealer pull : {sealer_s:6.2f}s  {mb / sealer_s:7.0f} MB/s")
        print(f"skopeo copy : {skopeo_s:6.2f}s  {mb / skopeo_s:7.0f} MB/s")
        print(f"ratio sealer/skopeo time: {sealer_s / skopeo_s:.2f} (below 1 = sealer faster)")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
