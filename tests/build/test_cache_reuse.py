"""Large blobs live in the cluster image's layers, not twice on disk; layers are reused across builds and rebuilt
when their blob was garbage-collected."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image

from sealer.cli.main import cli


def run(root: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def _blob_gets(proxy: FaultProxy, start: int) -> int:
    return sum(1 for m, p, _ in proxy.requests[start:] if m == "GET" and "/blobs/" in p)


def test_large_blobs_dropped_from_blob_cache_and_layers_reused(registry: Registry, tmp_path: Path) -> None:
    push_test_image(registry, "big/a:v1", [3_000_000, 50_000], seed=11)
    push_test_image(registry, "big/b:v1", [2_500_000], seed=12)
    proxy = FaultProxy(registry)
    try:
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "imageList").write_text(f"{proxy.host}/big/a:v1\n{proxy.host}/big/b:v1\n")
        (ctx / "Kubefile").write_text("FROM scratch\nCOPY imageList manifests\n")
        root = tmp_path / "store"
        run(root, "build", "-q", "-b", "lite", "-t", "c:v1", str(ctx))
        blobs = root / "cache" / "registry-blobs" / "blobs" / "sha256"
        assert all(p.stat().st_size <= 1 << 20 for p in blobs.iterdir()), "large blobs are kept only in layers"
        # a no-cache rebuild reuses the layers already in the store: no large blob is fetched again
        mark = len(proxy.requests)
        again = json.loads(run(root, "build", "-q", "--json", "--no-cache", "-b", "lite", "-t", "c:v2", str(ctx)))
        big = [p for m, p, _ in proxy.requests[mark:] if m == "GET" and "/blobs/" in p]
        assert len(big) == 0, big
        first = json.loads(run(root, "inspect", "--json", "c:v1"))
        assert [x["digest"] for x in again["layers"]] == [x["digest"] for x in first["layers"]]
        # once the layers are garbage, the memo is ignored and the blobs are fetched again
        run(root, "rmi", "--prune", "c:v1", "c:v2")
        mark = len(proxy.requests)
        run(root, "build", "-q", "-b", "lite", "-t", "c:v3", str(ctx))
        assert _blob_gets(proxy, mark) >= 3
        assert "ok" in run(root, "verify", "c:v3")
    finally:
        proxy.stop()
