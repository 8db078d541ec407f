"""Mirror then origin in the registry client (``RegistryClient.get_manifest`` / ``fetch_blob``), with two real
registries behind counting proxies: a failing mirror falls back to the origin, a mirror serving wrong bytes
does not (the pull fails), and when every source fails the last error is the one reported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, push_test_image, skopeo, start_registry

from sealer.digest import Digest
from sealer.errors import DigestError, NotFoundError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.reference import parse
from sealer.registry import RegistryClient, RegistryOptions


@dataclass
class Pair:
    origin: FaultProxy
    mirror: FaultProxy
    client: RegistryClient
    digest: str
    layer: Descriptor

    def asked(self, px: FaultProxy, part: str) -> list[str]:
        return [p for _, p, _ in px.requests if part in p]


@pytest.fixture
def pair(registry: Registry, tmp_path: Path) -> Iterator[Pair]:
    """The same image in both registries (pushed from one layout): the mirror can serve it byte for byte."""
    img = push_test_image(registry, "o/app:v1", [50_000], seed=41)
    with start_registry(tmp_path / "mirror") as mreg:
        skopeo("copy", "--quiet", "--preserve-digests", *mreg.skopeo_args("dest"), img.oci_ref,
               f"docker://{mreg.ref('o/app:v1')}")
        with FaultProxy(registry) as origin, FaultProxy(mreg) as mirror:
            conf = tmp_path / "registries.conf"
            conf.write_text(f'[[registry]]\nlocation = "{origin.host}"\n'
                            f'[[registry.mirror]]\nlocation = "{mirror.host}"\n')
            opts = RegistryOptions(registries_conf=conf, retries=2, backoff=0.01, max_backoff=0.05,
                                   auth_file=tmp_path / "none.json")
            layer = Descriptor(mt.OCI_LAYER, Digest(img.manifests[0].layer_digests[0]),
                               img.manifests[0].layer_sizes[0])
            with RegistryClient(opts) as c:
                yield Pair(origin, mirror, c, img.digest, layer)


def test_mirror_serves_and_origin_is_not_asked(pair: Pair) -> None:
    ref = parse(f"{pair.origin.host}/o/app:v1")
    assert str(pair.client.get_manifest(ref)[2]) == pair.digest
    assert pair.client.get_blob_bytes(ref, pair.layer)
    assert pair.asked(pair.mirror, "/v2/o/app/") and pair.asked(pair.origin, "/v2/o/app/") == []


def test_failing_mirror_falls_back_to_the_origin(pair: Pair) -> None:
    pair.mirror.add(Fault("status", path="/manifests/", status=500, times=-1))
    pair.mirror.add(Fault("status", status=500, times=-1))
    ref = parse(f"{pair.origin.host}/o/app:v1")
    assert str(pair.client.get_manifest(ref)[2]) == pair.digest
    assert pair.client.get_blob_bytes(ref, pair.layer)
    assert len(pair.asked(pair.mirror, "/v2/o/app/manifests/v1")) == 2      # retried, then given up
    assert pair.asked(pair.origin, "/v2/o/app/manifests/v1") == ["/v2/o/app/manifests/v1"]
    assert pair.asked(pair.origin, f"/blobs/{pair.layer.digest}") == [f"/v2/o/app/blobs/{pair.layer.digest}"]


def test_mirror_with_wrong_manifest_bytes_stops_the_pull(pair: Pair) -> None:
    pair.mirror.add(Fault("corrupt", path="/manifests/", times=-1))
    ref = parse(f"{pair.origin.host}/o/app@{pair.digest}")
    with pytest.raises(DigestError, match="content digest is"):
        pair.client.get_manifest(ref)
    assert pair.asked(pair.origin, "/v2/o/app/") == []


def test_mirror_with_wrong_blob_bytes_stops_the_pull(pair: Pair) -> None:
    pair.mirror.add(Fault("corrupt", times=-1))
    with pytest.raises(DigestError):
        pair.client.get_blob_bytes(parse(f"{pair.origin.host}/o/app:v1"), pair.layer)
    assert pair.asked(pair.origin, "/blobs/") == []


def test_every_source_failing_reports_the_origin(pair: Pair) -> None:
    with pytest.raises(NotFoundError, match=f"get manifest {pair.origin.host}/o/none:v1: not found"):
        pair.client.get_manifest(parse(f"{pair.origin.host}/o/none:v1"))
    gone = Descriptor(mt.OCI_LAYER, Digest("sha256:" + "e" * 64), 10)
    with pytest.raises(NotFoundError, match=f"get blob {gone.digest} from {pair.origin.host}/o/app: not found"):
        pair.client.get_blob_bytes(parse(f"{pair.origin.host}/o/app:v1"), gone)
    assert pair.asked(pair.mirror, "/v2/o/none/manifests/v1") and pair.asked(pair.origin, "/v2/o/none/manifests/v1")
