"""Benchmark: COPY of a large context and a no-op rebuild, next to `tar -c | sha256sum` of the same context.

    python bench/build_cache.py            # BENCH_MB=1024 by default
Prints seconds and ratios (sealer / tar|sha256sum). Lower is better; the no-op rebuild must re-hash the context
(content hash, like docker), so its floor is the hashing limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = int(os.environ.get("BENCH_MB", "1024"))


def timed(argv: list[str], **kw: object) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="sealer-bench-"))
    try:
        ctx = base / "ctx"
        (ctx / "data").mkdir(parents=True)
        files = 16
        per = MB // files
        for i in range(files):
            with open(ctx / "data" / f"f{i}.bin", "wb") as f:
                f.write(os.urandom(per << 20))
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY data .\nCMD echo hi\n")
        env = dict(os.environ, SEALER_ROOT=str(base / "root"))
        sealer = [sys.executable, "-m", "sealer.cli.main"]
        tar_t = timed(["bash", "-c", f"tar -C {ctx} -cf - . | sha256sum"])
        first = timed([*sealer, "build", "-q", "-b", "lite", "-t", "bench:v1", str(ctx)], env=env)
        noop = timed([*sealer, "build", "-q", "-b", "lite", "-t", "bench:v1", str(ctx)], env=env)
        print(f"context: {MB} MiB in {files} files")
        print(f"tar -c | sha256sum        : {tar_t:7.2f} s")
        print(f"sealer build (COPY, cold) : {first:7.2f} s   ratio {first / tar_t:5.2f}x")
        print(f"sealer build (no-op)      : {noop:7.2f} s   ratio {noop / tar_t:5.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
