"""Network faults through the fault proxy in front of a real htpasswd+TLS registry (short soak; ``make stress``
runs 20 minutes): never a wrong blob committed, never a crash, credentials never sent to another host."""

from __future__ import annotations

from pathlib import Path

from helpers.faultproxy import Fault
from helpers.registry import Registry, push_test_image, write_auth_file

from sealer.registry import RegistryOptions, pull
from sealer.store.layout import Store

from .soak import SoakFault, SoakProxy, soak


def test_short_fault_soak(tmp_path: Path, tls_registry: Registry, test_seed: int) -> None:
    tally = soak(tls_registry, tmp_path, pulls=12, seed=test_seed)
    replay = f"(seed {test_seed}; replay with --seed {test_seed})"
    assert tally.bad == 0, (tally.problems, replay)
    assert tally.pulls == 12 and tally.faults_fired > 0, replay
    assert tally.recovered > 0, replay


def test_stall_then_truncation_are_recovered(tmp_path: Path, tls_registry: Registry) -> None:
    img = push_test_image(tls_registry, "st/app:v1", [800_000])
    with SoakProxy(tls_registry) as px:
        # the stall lasts until the client hangs up (its 1.5 s read timeout), capped at 60 s: no race
        layer = img.manifests[0].layer_digests[0]   # the 800 kB layer, never the small config
        stall = px.add(SoakFault("stall", path=f"/blobs/{layer}$", after_bytes=100_000, stall_seconds=60.0))
        px.add(SoakFault("truncate", path=f"/blobs/{layer}$", after_bytes=300_000))
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", tls_registry.password or "")
        store = Store(tmp_path / "s")
        stored = pull(store, f"{px.host}/st/app:v1", RegistryOptions(auth_file=auth, timeout=1.5, backoff=0.05))
        assert all(f.fired == 1 for f in px.faults)
        assert isinstance(stall, SoakFault) and stall.client_gave_up == 1, "the client's read timeout never fired"
    assert str(stored.descriptor.digest) == img.digest


def test_redirect_to_other_host_carries_no_credentials(tmp_path: Path, tls_registry: Registry) -> None:
    img = push_test_image(tls_registry, "rd/app:v1", [300_000])
    with SoakProxy(tls_registry) as px:
        px.add(Fault("redirect", times=-1))
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", tls_registry.password or "")
        stored = pull(Store(tmp_path / "s"), f"{px.host}/rd/app:v1", RegistryOptions(auth_file=auth))
        assert px.redirected
        assert all(k.lower() != "authorization" for h in px.redirected for k in h)
    assert str(stored.descriptor.digest) == img.digest


def test_manifest_redirect_is_followed(tmp_path: Path, tls_registry: Registry) -> None:
    """Regression: a 307 answering a manifest GET was read as an empty 200."""
    img = push_test_image(tls_registry, "rm/app:v1", [100_000])
    with SoakProxy(tls_registry) as px:
        px.add(Fault("redirect", path=r"/manifests/", times=1))
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", tls_registry.password or "")
        stored = pull(Store(tmp_path / "s"), f"{px.host}/rm/app:v1", RegistryOptions(auth_file=auth))
        assert all(k.lower() != "authorization" for h in px.redirected for k in h)
    assert str(stored.descriptor.digest) == img.digest
