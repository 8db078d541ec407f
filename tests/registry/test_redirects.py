"""Redirects of blob downloads (``registry/blobget.py``), against the real docker-registry (Basic auth over TLS)
behind a counting proxy that answers chosen blob GETs with a redirect: which redirects are followed, with
which headers, and which are refused. What was sent is read from the proxy's log."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, free_port, push_test_image, write_auth_file

from sealer.digest import Digest
from sealer.errors import RegistryError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.reference import parse
from sealer.registry import RegistryClient, RegistryOptions
from sealer.registry.blobget import MAX_REDIRECTS


@dataclass
class Setup:
    reg: Registry
    px: FaultProxy
    client: RegistryClient
    layer: Descriptor
    data: bytes

    def fetch(self) -> bytes:
        return self.client.get_blob_bytes(parse(f"{self.px.host}/rd/app:v1"), self.layer)

    def blob_gets(self) -> list[tuple[str, dict[str, str]]]:
        return [(p, h) for m, p, h in self.px.requests if m == "GET" and "/blobs/" in p]


@pytest.fixture
def setup(tls_registry: Registry, tmp_path: Path) -> Iterator[Setup]:
    reg = tls_registry
    img = push_test_image(reg, "rd/app:v1", [300_000], seed=31)
    d, size = img.manifests[0].layer_digests[0], img.manifests[0].layer_sizes[0]
    data = (img.layout / "blobs" / "sha256" / d[7:]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == d[7:] and len(data) == size
    with FaultProxy(reg) as px:
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", reg.password or "")
        opts = RegistryOptions(auth_file=auth, use_mirrors=False, retries=3, backoff=0.01, max_backoff=0.05)
        with RegistryClient(opts) as c:
            yield Setup(reg, px, c, Descriptor(mt.OCI_LAYER, Digest(d), size), data)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_same_host_redirect_followed_with_credentials(setup: Setup, status: int) -> None:
    setup.px.add(Fault("redirect", location="{path}?again=1", status=status))
    assert setup.fetch() == setup.data
    (first, h1), (second, h2) = setup.blob_gets()
    assert second == first + "?again=1"
    assert h1["Authorization"] == h2["Authorization"] and h2["Authorization"].startswith("Basic ")


def test_absolute_same_host_url_is_the_registry_too(setup: Setup) -> None:
    setup.px.add(Fault("redirect", location="http://127.0.0.1:{port}{path}?abs=1"))
    assert setup.fetch() == setup.data
    (_, h1), (second, h2) = setup.blob_gets()
    assert second.endswith("?abs=1") and h2["Authorization"] == h1["Authorization"]


def test_other_host_gets_the_range_but_no_credentials(setup: Setup) -> None:
    """A reset mid-body, then the resumed GET is redirected to another host name: the Range goes along, the
    credentials do not."""
    setup.px.add(Fault("reset", after_bytes=100_000, times=1))
    setup.px.add(Fault("redirect", times=-1))
    assert setup.fetch() == setup.data
    gets = setup.blob_gets()
    assert [h.get("Range") for _, h in gets] == [None, "bytes=100000-"]
    assert all(h["Authorization"].startswith("Basic ") for _, h in gets)
    (sent,) = setup.px.redirected
    assert sent.get("Range") == "bytes=100000-"
    assert not {k.lower() for k in sent} & {"authorization", "cookie"}


def test_redirect_chain_to_the_limit_and_beyond(setup: Setup) -> None:
    setup.px.add(Fault("redirect", location="{path}?hop=1", times=MAX_REDIRECTS))
    assert setup.fetch() == setup.data
    assert len(setup.blob_gets()) == MAX_REDIRECTS + 1
    setup.px.requests.clear()
    setup.px.add(Fault("redirect", location="{path}?loop=1", times=-1))
    with pytest.raises(RegistryError, match="too many redirects"):
        setup.fetch()
    assert len(setup.blob_gets()) == MAX_REDIRECTS + 1     # followed five times, then given up, never retried


@pytest.mark.parametrize("location,error", [
    ("", "redirect without a Location"),
    ("ftp://127.0.0.1:{port}/blob", "refusing redirect to ftp: URL"),
    ("http://registry.invalid/blob", "refusing redirect to plain HTTP registry.invalid"),
])
def test_refused_redirects(setup: Setup, location: str, error: str) -> None:
    setup.px.add(Fault("redirect", location=location, times=-1))
    with pytest.raises(RegistryError, match=error) as e:
        setup.fetch()
    assert str(setup.layer.digest) in str(e.value)         # the error names the blob
    assert len(setup.blob_gets()) == 1                      # refused at once, not retried


def test_redirect_target_error_is_reported(setup: Setup) -> None:
    """The other host answers 404: the error comes from the target's answer, typed as not found."""
    from sealer.errors import NotFoundError

    setup.px.add(Fault("redirect", location="http://localhost:{port}/_redirected/unknown", times=-1))
    with pytest.raises(NotFoundError, match=f"^get blob {setup.layer.digest} from {setup.px.host}/rd/app: not found"):
        setup.fetch()


def test_failing_blob_get_names_the_blob(setup: Setup) -> None:
    setup.px.add(Fault("status", status=500, times=-1))
    with pytest.raises(RegistryError, match=f"^get blob {setup.layer.digest} from {setup.px.host}/rd/app: HTTP 500"):
        setup.fetch()
    assert len(setup.blob_gets()) == 3                      # the configured attempts, no redirect involved


def test_unreachable_redirect_target_names_the_blob(setup: Setup) -> None:
    setup.px.add(Fault("redirect", location=f"http://localhost:{free_port()}/blob", times=-1))
    with pytest.raises(RegistryError, match=f"^get blob {setup.layer.digest} from {setup.px.host}/rd/app: "
                                            "ConnectError.*after 3 attempts"):
        setup.fetch()


def test_failing_same_host_redirect_names_the_blob(setup: Setup) -> None:
    setup.px.add(Fault("redirect", location="{path}?again=1", times=1))
    setup.px.add(Fault("status", status=500, times=-1))
    with pytest.raises(RegistryError, match=f"^get blob {setup.layer.digest} from {setup.px.host}/rd/app: HTTP 500"):
        setup.fetch()
    assert [p for p, _ in setup.blob_gets()][1:] == [f"/v2/rd/app/blobs/{setup.layer.digest}?again=1"] * 3


def test_same_host_redirect_keeps_accept_and_range(setup: Setup) -> None:
    """A manifest redirected on the registry host still asks for the types we accept (the registry answers
    404 to an OCI manifest request without them), and a resumed blob GET keeps its Range."""
    setup.px.add(Fault("redirect", path=r"/manifests/", location="{path}?again=1", times=1))
    raw, _, _ = setup.client.get_manifest(parse(f"{setup.px.host}/rd/app:v1"))
    assert raw
    (_, h1), (p2, h2) = [(p, h) for m, p, h in setup.px.requests if "/manifests/" in p]
    assert p2.endswith("?again=1") and h2.get("Accept") == h1.get("Accept") and "oci" in str(h1.get("Accept"))
    setup.px.requests.clear()
    setup.px.add(Fault("reset", after_bytes=100_000, times=1))
    setup.px.add(Fault("redirect", location="{path}?again=1", times=1))
    assert setup.fetch() == setup.data
    assert [(p.endswith("?again=1"), h.get("Range")) for p, h in setup.blob_gets()] == [
        (False, None), (False, "bytes=100000-"), (True, "bytes=100000-")]
