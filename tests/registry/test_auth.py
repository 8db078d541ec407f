"""Auth matrix against real registries: anonymous, Basic over TLS, token; bad passwords; credential helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers.registry import Registry, push_test_image, write_auth_file
from test_units import write_helper

from sealer.errors import AuthError, RegistryError
from sealer.registry import RegistryClient, RegistryOptions, login, logout, pull, push
from sealer.store.layout import Store


def test_anonymous_pull_and_push(registry: Registry, tmp_path: Path) -> None:
    img = push_test_image(registry, "anon/app:v1", [1000])
    store = Store(tmp_path / "s")
    stored = pull(store, registry.ref("anon/app:v1"))
    assert str(stored.descriptor.digest) == img.digest
    assert str(push(store, stored.name, registry.ref("anon/copy:v1"))) == img.digest


def test_basic_over_tls(tls_registry: Registry, tmp_path: Path) -> None:
    reg = tls_registry
    assert reg.password
    img = push_test_image(reg, "tls/app:v1", [2000])
    auth = tmp_path / "auth.json"
    opts = RegistryOptions(ca_cert=reg.ca.cert if reg.ca else None, auth_file=auth)
    store = Store(tmp_path / "s")
    with pytest.raises(AuthError, match="unauthorized"):
        pull(store, reg.ref("tls/app:v1"), opts)
    with pytest.raises(AuthError, match="refused"):
        login(reg.host, "alice", "wrong-password", opts)
    assert not auth.exists()  # nothing stored on failure
    login(reg.host, "alice", reg.password, opts)
    assert oct(auth.stat().st_mode & 0o777) == "0o600"
    assert str(pull(store, reg.ref("tls/app:v1"), opts).descriptor.digest) == img.digest
    assert str(push(store, reg.ref("tls/app:v1"), reg.ref("tls/other:v1"), opts)) == img.digest
    assert logout(reg.host, opts)
    with pytest.raises(AuthError):
        pull(Store(tmp_path / "s2"), reg.ref("tls/app:v1"), opts)


def test_tls_is_verified(tls_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = tls_registry
    assert reg.ca is not None
    store = Store(tmp_path / "s")
    auth = write_auth_file(tmp_path / "auth.json", reg.host, "alice", reg.password or "")
    with pytest.raises(RegistryError, match="certificate not trusted.*--ca-cert"):
        pull(store, reg.ref("x/y:1"), RegistryOptions(auth_file=auth))
    # certs.d/HOST/ca.crt, as docker reads it
    push_test_image(reg, "x/y:1", [10])
    assert reg.cert_dir is not None
    opts = RegistryOptions(auth_file=auth, certs_dirs=(reg.cert_dir.parent,))
    pull(store, reg.ref("x/y:1"), opts)
    # SSL_CERT_FILE, as the environment sets it
    monkeypatch.setenv("SSL_CERT_FILE", str(reg.ca.cert))
    pull(Store(tmp_path / "s3"), reg.ref("x/y:1"), RegistryOptions(auth_file=auth))
    # --insecure-registry skips verification
    monkeypatch.delenv("SSL_CERT_FILE")
    pull(Store(tmp_path / "s4"), reg.ref("x/y:1"), RegistryOptions(auth_file=auth, insecure=frozenset({reg.host})))


def test_token_auth(token_registry: Registry, tmp_path: Path) -> None:
    reg = token_registry
    assert reg.token_server is not None and reg.password
    img = push_test_image(reg, "tok/app:v1", [5000], platforms=["linux/amd64", "linux/arm64"])
    auth = tmp_path / "auth.json"
    opts = RegistryOptions(auth_file=auth)
    store = Store(tmp_path / "s")
    stored = pull(store, reg.ref("tok/app:v1"), opts, all_platforms=True)  # anonymous token: pull only
    assert str(stored.descriptor.digest) == img.digest
    assert reg.token_server.requests[-1]["user"] is None
    with pytest.raises(AuthError):
        push(store, stored.name, reg.ref("tok/copy:v1"), opts)
    with pytest.raises(AuthError, match="user 'bob' refused"):
        login(reg.host, "bob", "not-his-password", opts)
    assert not auth.exists()
    login(reg.host, "bob", reg.password, opts)
    assert str(push(store, stored.name, reg.ref("tok/copy:v1"), opts)) == img.digest
    assert any(r["user"] == "bob" and any("tok/copy:pull,push" in s for s in r["scopes"])
               for r in reg.token_server.requests)


def test_tokens_are_cached_per_scope(token_registry: Registry, tmp_path: Path) -> None:
    reg = token_registry
    push_test_image(reg, "cache/app:v1", [100, 200, 300])
    assert reg.token_server is not None
    before = len(reg.token_server.requests)
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json")) as c:
        from sealer.reference import parse

        for _ in range(3):
            c.resolve_image(parse(reg.ref("cache/app:v1")))
        assert c.auth.token_fetches == 1
    assert len(reg.token_server.requests) - before == 1


def test_token_refresh_after_expiry(tmp_path: Path) -> None:
    """Tokens valid 2 s: reused while valid, fetched again once expired. Polled with a generous deadline
    instead of sleeping against the expiry; the bounds asserted hold however slow the machine is."""
    import time

    from helpers.registry import start_registry

    from sealer.reference import parse

    with start_registry(tmp_path / "r", token_users={"bob": "pw-x"}, token_expires_in=2) as reg:
        push_test_image(reg, "exp/app:v1", [100])
        with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json")) as c:
            t0 = time.monotonic()
            c.resolve_image(parse(reg.ref("exp/app:v1")))
            assert c.auth.token_fetches == 1
            c.resolve_image(parse(reg.ref("exp/app:v1")))
            if time.monotonic() - t0 < 1.5:      # still inside the token's life: it was reused
                assert c.auth.token_fetches == 1
            deadline = t0 + 60
            while c.auth.token_fetches < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
                c.resolve_image(parse(reg.ref("exp/app:v1")))
            refreshed_after = time.monotonic() - t0
            assert c.auth.token_fetches == 2, "the expired token was never refreshed"
            assert refreshed_after >= 1.5, f"refreshed after {refreshed_after:.2f} s, before the token expired"


def test_credential_helper_used_by_login_and_pull(tls_registry: Registry, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    reg = tls_registry
    assert reg.password and reg.ca
    write_helper(tmp_path / "bin", "sealer-test-standin", tmp_path / "db.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    auth = tmp_path / "config.json"
    auth.write_text(json.dumps({"credsStore": "sealer-test-standin"}))
    opts = RegistryOptions(ca_cert=reg.ca.cert, auth_file=auth)
    img = push_test_image(reg, "h/app:v1", [100])
    login(reg.host, "alice", reg.password, opts)
    assert reg.password not in auth.read_text()
    assert json.loads((tmp_path / "db.json").read_text())[reg.host] == ["alice", reg.password]
    assert str(pull(Store(tmp_path / "s"), reg.ref("h/app:v1"), opts).descriptor.digest) == img.digest
