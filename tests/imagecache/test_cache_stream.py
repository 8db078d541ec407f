"""Large blobs are streamed straight into their layer: resumed in place after a reset, refused when corrupt,
and a download that cannot continue in the layer falls back to the blob cache — same layer bytes every way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, push_test_image

from sealer import reference
from sealer.errors import DigestError, SealerError
from sealer.imagecache.cache import cache_images
from sealer.imagecache.stream import CannotStream
from sealer.oci.model import Platform
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store import Store

AMD64 = Platform.parse("linux/amd64")
FAST = RegistryOptions(use_mirrors=False, retries=4, backoff=0.01, max_backoff=0.05)


def _cache(host: str, store: Store, client: Any) -> list[str]:
    refs = [(reference.parse(f"{host}/big/app:v1"), ["test"])]
    res = cache_images(refs, store=store, client=client, platforms=[AMD64], progress=False)
    return [str(x.descriptor.digest) for x in res.layers]


@pytest.fixture
def big(registry: Registry) -> Registry:
    img = push_test_image(registry, "big/app:v1", [3_000_000, 2_200_000, 40_000], seed=77)
    registry.big_layers = img.manifests[0].layer_digests[:2]  # type: ignore[attr-defined]
    return registry


def test_reset_mid_blob_resumes_inside_the_layer(big: Registry, tmp_path: Path) -> None:
    with RegistryClient(FAST) as c:
        clean = _cache(big.host, Store(tmp_path / "a"), c)
    with FaultProxy(big) as px, RegistryClient(FAST) as c:
        for d in big.big_layers:  # type: ignore[attr-defined]
            px.add(Fault("reset", path=d[7:], after_bytes=1_000_000, times=1))
        faulty = _cache(px.host, Store(tmp_path / "b"), c)
        ranges = [h.get("Range") for m, p, h in px.requests if m == "GET" and "/blobs/" in p and h.get("Range")]
    assert faulty == clean, "a resumed stream gives the same layer bytes"
    assert ranges, "the download resumed with Range instead of starting over"


def test_corrupt_blob_fails_and_commits_no_layer(big: Registry, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    with FaultProxy(big) as px, RegistryClient(FAST) as c:
        px.add(Fault("corrupt", times=-1, path=r"/v2/.+/blobs/sha256:[0-9a-f]{64}$"))
        with pytest.raises(SealerError) as e:
            _cache(px.host, store, c)
    assert isinstance(e.value, DigestError) or "digest" in str(e.value)
    assert "big/app:v1" in str(e.value)
    assert store.referenced_blobs() == set()
    assert [p for p in (store.root / "ingest").iterdir() if p.is_file()] == []


class _StandInRestartingClient:
    """Test stand-in: the real client, except that each large blob's first download starts over after writing bytes (what the
    client does when a server ignores Range): the layer stream cannot follow, the blob cache path must."""

    def __init__(self, inner: RegistryClient) -> None:
        self._inner = inner
        self.restarted: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def fetch_blob(self, ref: Any, desc: Any, sink: Any) -> Any:
        if desc.size > 1 << 20 and str(desc.digest) not in self.restarted:
            self.restarted.append(str(desc.digest))
            w = sink.writer()
            w.write(b"partial")
            sink.writer()     # starting over: the layer sink refuses (CannotStream)
        return self._inner.fetch_blob(ref, desc, sink)


def test_download_that_cannot_stream_falls_back_to_the_blob_cache(big: Registry, tmp_path: Path) -> None:
    with RegistryClient(FAST) as c:
        clean = _cache(big.host, Store(tmp_path / "a"), c)
    with RegistryClient(FAST) as c:
        flaky = _StandInRestartingClient(c)
        got = _cache(big.host, Store(tmp_path / "b"), flaky)
    assert len(flaky.restarted) == 2
    assert got == clean
    with pytest.raises(CannotStream):
        import io

        from sealer.imagecache.stream import _LayerSink
        s = _LayerSink(io.BytesIO(), lambda n: None)
        s.writer().write(b"x")
        s.writer()


@pytest.mark.parametrize("cores", [1, 64])
def test_blob_hash_on_the_stream_thread_or_a_helper_verifies_alike(big: Registry, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   cores: int) -> None:
    """1 core: every stream hashes its blob inline; 64 cores: every stream gets a helper hash thread. Both give
    the layers the blob cache path gives, and both refuse a corrupt blob."""
    import sealer.imagecache.stream as stream

    with RegistryClient(FAST) as c:
        monkeypatch.setattr(stream.STREAMS, "_cores", lambda: 1)  # reference: one stream at a time is irrelevant
        reference_layers = _cache(big.host, Store(tmp_path / "ref"), c)
        monkeypatch.setattr(stream.STREAMS, "_cores", lambda: cores)
        made: list[str] = []
        real = stream.STREAMS.hasher

        def spy() -> Any:
            h = real()
            made.append(type(h).__name__)
            return h
        monkeypatch.setattr(stream.STREAMS, "hasher", spy)
        assert _cache(big.host, Store(tmp_path / "a"), c) == reference_layers
    assert made and set(made) == ({"_InlineHasher"} if cores == 1 else {"_Hasher"})
    assert stream.STREAMS.running == 0, "every stream released its slot"
    with FaultProxy(big) as px, RegistryClient(FAST) as c:
        px.add(Fault("corrupt", times=-1, path=r"/v2/.+/blobs/sha256:[0-9a-f]{64}$"))
        with pytest.raises(SealerError, match="digest"):
            _cache(px.host, Store(tmp_path / "b"), c)
    assert stream.STREAMS.running == 0, "a failed stream released its slot too"


def test_helper_threads_only_while_each_stream_has_two_cores() -> None:
    from sealer.imagecache.stream import _Hasher, _InlineHasher, _Streams

    s = _Streams()
    s._cores = lambda: 4  # type: ignore[method-assign]
    first, second, third = s.hasher(), s.hasher(), s.hasher()
    assert (type(first), type(second), type(third)) == (_Hasher, _Hasher, _InlineHasher)
    for h in (first, second, third):
        h.stop()
    s.release()
    s.release()
    assert type(s.hasher()) is _Hasher, "a slot freed by a finished stream is given again"
