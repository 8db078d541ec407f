"""``registry/blobget.py``'s ``download``/``_one_pass`` against the real docker-registry behind a FaultProxy: resume
with ``Range`` after a reset or a short body, start over when the registry ignores the Range (200) or answers
with another ``Content-Range``, the guard against more bytes than the descriptor announces, the number of
attempts and the backoff between them, the progress reported. What the client asked for is read from the proxy's
request log; what it kept from the store (every blob hashed, nothing left in ingest)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, push_test_image

from sealer import limits, reference
from sealer.errors import AuthError, DigestError, NotFoundError, RegistryError
from sealer.oci.model import Descriptor, Manifest
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store.layout import Store

LAYER = 400_000            # bytes of the layer's tar (its gzip, the blob, is a little larger)
CUT = 150_000


class Recorder:
    """A ProgressLike that keeps every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...] | tuple[str, str, object]] = []
        self._lock = threading.Lock()

    def start(self, key: str, description: str, total: int | None) -> None:
        with self._lock:
            self.calls.append(("start", key, description, total))  # type: ignore[arg-type]

    def update(self, key: str, completed: int) -> None:
        with self._lock:
            self.calls.append(("update", key, completed))

    def done(self, key: str) -> None:
        with self._lock:
            self.calls.append(("done", key))

    def updates(self) -> list[int]:
        return [int(str(c[2])) for c in self.calls if c[0] == "update"]


@dataclass
class Setup:
    px: FaultProxy
    client: RegistryClient
    ref: reference.Reference
    layer: Descriptor
    store: Store
    progress: Recorder

    def ranges(self) -> list[str | None]:
        return [h.get("Range") for m, p, h in self.px.requests if m == "GET" and "/blobs/" in p]

    def fetch(self) -> None:
        assert self.client.fetch_blob(self.ref, self.layer, self.store) == self.layer.digest

    def clean(self, has_blob: bool) -> None:
        """The blob is there (and right) or not; nothing is left in ingest."""
        assert self.store.has_blob(self.layer.digest) is has_blob
        for p in (self.store.root / "blobs" / "sha256").iterdir():
            assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
        assert list((self.store.root / "ingest").iterdir()) == []


def _setup(registry: Registry, tmp_path: Path, **opts: float) -> Iterator[Setup]:
    push_test_image(registry, "rs/app:v1", [LAYER], seed=21)
    progress = Recorder()
    options = RegistryOptions(use_mirrors=False, **{"backoff": 0.01, "max_backoff": 0.05, **opts})  # type: ignore[arg-type]
    with FaultProxy(registry) as px, RegistryClient(options, progress) as client:
        ref = reference.parse(f"{px.host}/rs/app:v1")
        raw, media, _ = client.get_manifest(ref)
        (layer,) = Manifest.parse(raw, media).layers
        assert layer.size > CUT + 100_000
        yield Setup(px, client, ref, layer, Store(tmp_path / "s"), progress)


@pytest.fixture
def setup(registry: Registry, tmp_path: Path) -> Iterator[Setup]:
    yield from _setup(registry, tmp_path)


def test_clean_pull_reports_progress(setup: Setup) -> None:
    setup.fetch()
    assert setup.ranges() == [None]
    key = str(setup.layer.digest)
    calls = setup.progress.calls
    assert calls[0] == ("start", key, f"pull {setup.layer.digest.short}", setup.layer.size)
    assert calls[-1] == ("done", key)
    assert all(c[1] == key for c in calls)
    ups = setup.progress.updates()
    assert ups and ups == sorted(ups) and ups[-1] == setup.layer.size and ups[0] > 0
    setup.clean(True)


def test_reset_resumes_with_range_where_it_was_cut(setup: Setup) -> None:
    setup.px.add(Fault("reset", after_bytes=CUT))
    setup.fetch()
    assert setup.ranges() == [None, f"bytes={CUT}-"]
    ups = setup.progress.updates()
    assert ups == sorted(ups) and CUT in ups and ups[-1] == setup.layer.size    # kept going from the cut, not from zero
    setup.clean(True)


def test_short_body_resumes_with_range(setup: Setup) -> None:
    """A body that ends cleanly (an honest, short Content-Length) before the descriptor's size."""
    setup.px.add(Fault("truncate", after_bytes=CUT))
    setup.fetch()
    assert setup.ranges() == [None, f"bytes={CUT}-"]
    setup.clean(True)


def test_range_ignored_starts_over(setup: Setup) -> None:
    """The resumed GET reaches the registry without its Range: a 200 with the whole blob. The partial bytes are
    dropped (their ingest file too) and the blob is written from zero in the same pass."""
    setup.px.add(Fault("reset", after_bytes=CUT))
    setup.px.add(Fault("ignore-range"))
    setup.fetch()
    assert setup.ranges() == [None, f"bytes={CUT}-"]
    ups = setup.progress.updates()
    restart = next(i for i in range(1, len(ups)) if ups[i] < ups[i - 1])
    assert ups[restart - 1] == CUT and ups[restart] < CUT and ups[-1] == setup.layer.size
    setup.clean(True)


@pytest.mark.parametrize("content_range", [
    "bytes 0-{last}/{size}",                            # the whole blob
    f"bytes {CUT}0-{CUT}9/{CUT}10",                     # starts with the right digits, then more
    f"bytes {CUT + 1}-{{last}}/{{size}}",               # one byte off
    "",
    None,                                               # no Content-Range at all
])
def test_other_content_range_starts_over(setup: Setup, content_range: str | None) -> None:
    """A 206 whose Content-Range does not start at our offset: nothing of it is kept; the next attempt asks
    for the whole blob."""
    setup.px.add(Fault("reset", after_bytes=CUT))
    size = setup.layer.size
    setup.px.add(Fault("content-range", content_range=None if content_range is None else
                       content_range.format(last=size - 1, size=size)))
    setup.fetch()
    assert setup.ranges() == [None, f"bytes={CUT}-", None]
    setup.clean(True)


@pytest.mark.parametrize("retries,attempts", [(0, 1), (1, 1), (3, 3)])
def test_gives_up_after_the_attempts(registry: Registry, tmp_path: Path, retries: int, attempts: int) -> None:
    for s in _setup(registry, tmp_path, retries=retries):
        s.px.add(Fault("truncate", after_bytes=0, times=-1))
        with pytest.raises(RegistryError, match=rf"^get blob {s.layer.digest} from {re.escape(s.ref.repository)}: body ended at byte 0 "
                                                rf"of {s.layer.size} \(gave up after {attempts} attempts\)$"):
            s.fetch()
        assert s.ranges() == [None] * attempts
        s.clean(False)
        assert [c[0] for c in s.progress.calls] == ["start"]


def test_backoff_doubles_between_attempts(registry: Registry, tmp_path: Path) -> None:
    """Three attempts, the waits 0.2 s then 0.4 s: at least 0.6 s in all (a lower bound only: the cap,
    ``max_backoff``, would need an upper bound on time, which tests here do not take)."""
    for s in _setup(registry, tmp_path, retries=3, backoff=0.2, max_backoff=5.0):
        s.px.add(Fault("truncate", after_bytes=0, times=-1))
        t0 = time.monotonic()
        with pytest.raises(RegistryError, match="gave up after 3 attempts"):
            s.fetch()
        assert time.monotonic() - t0 >= 0.6


def test_more_bytes_than_announced_are_refused_at_once(setup: Setup) -> None:
    """A body longer than the descriptor's size: refused as soon as it passes the size, not retried, nothing
    kept (not even a good prefix in ingest)."""
    setup.px.add(Fault("append", extra=b"x" * 10, times=-1))
    with pytest.raises(DigestError, match=rf"^get blob {setup.layer.digest} from {re.escape(setup.ref.repository)}: more than the announced "
                                          rf"{setup.layer.size} bytes$"):
        setup.fetch()
    assert setup.ranges() == [None]
    setup.clean(False)


def test_more_bytes_after_a_resume_are_refused(setup: Setup) -> None:
    setup.px.add(Fault("reset", after_bytes=CUT))
    setup.px.add(Fault("append", extra=b"y"))
    with pytest.raises(DigestError, match="more than the announced"):
        setup.fetch()
    assert setup.ranges() == [None, f"bytes={CUT}-"]
    setup.clean(False)


@pytest.mark.parametrize("status,error,text", [(404, NotFoundError, "not found"), (403, AuthError, "access denied")])
def test_blob_refused_names_the_blob(setup: Setup, status: int, error: type[Exception], text: str) -> None:
    """The blob GET answered with a final error status: the typed error, naming the blob and the repository."""
    setup.px.add(Fault("status", status=status, times=-1))
    with pytest.raises(error, match=rf"^get blob {setup.layer.digest} from {re.escape(setup.ref.repository)}: "
                                    rf"{text}: "):
        setup.fetch()
    assert setup.ranges() == [None]
    setup.clean(False)


def test_give_up_message_names_the_last_failure(registry: Registry, tmp_path: Path) -> None:
    """The last attempt's failure is in the error: a reset (the transport error's name and the byte reached),
    then a resumed answer with a Content-Range starting elsewhere."""
    for s in _setup(registry, tmp_path, retries=1):
        s.px.add(Fault("reset", after_bytes=CUT))
        with pytest.raises(RegistryError, match=rf": (RemoteProtocolError|ReadError) at byte {CUT}: .+ \(gave up "
                                                r"after 1 attempts\)$"):
            s.fetch()
        s.clean(False)
    for s in _setup(registry, tmp_path / "2", retries=2):
        s.px.add(Fault("reset", after_bytes=CUT))
        s.px.add(Fault("content-range", content_range="bytes 0-9/10"))
        with pytest.raises(RegistryError, match=r": unexpected Content-Range 'bytes 0-9/10' \(gave up after 2 "
                                                r"attempts\)$"):
            s.fetch()
        assert s.ranges() == [None, f"bytes={CUT}-"]
        s.clean(False)


def test_too_slow_a_blob_names_the_registry(setup: Setup) -> None:
    """The minimum-rate rule (sealer.limits) set so that any transfer breaks it: the error names the blob and
    the host the bytes came from."""
    limits.configure(limits.Limits(net_min_rate=1e15, net_window=1e-9))
    try:
        with pytest.raises(RegistryError, match=rf"^get blob {setup.layer.digest} from "
                                                rf"{re.escape(setup.ref.repository)}: registry {setup.px.host} is "
                                                "too slow"):
            setup.fetch()
    finally:
        limits.configure(limits.Limits())
    setup.clean(False)
