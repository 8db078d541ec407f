"""The auth flow of ``registry/auth.py`` request by request, against the real docker-registry (Basic over TLS, and
token auth with the ``TokenServer`` test stand-in as issuer): what each request carried is read from a counting
proxy's access log and from the token server's own request log, not from our client's state."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, write_auth_file
from helpers.registry_token import SERVICE

from sealer.errors import AuthError
from sealer.oci.mediatypes import OCI_MANIFEST
from sealer.reference import parse
from sealer.registry import RegistryClient, RegistryOptions
from sealer.registry.auth import EXPIRY_MARGIN, AuthState, Challenge, RegistryAuth, parse_www_authenticate
from sealer.registry.credentials import Credential


# ---- WWW-Authenticate ------------------------------------------------------------------------------
@pytest.mark.parametrize("header,want", [
    ("", []),
    ("Basic", [("basic", {})]),
    ('BASIC Realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
    (' , Bearer realm=https://a/t , service=reg , scope="repository:x:pull"',
     [("bearer", {"realm": "https://a/t", "service": "reg", "scope": "repository:x:pull"})]),
    ('Bearer realm="a\\\\b\\"c",error="insufficient_scope"', [("bearer", {"realm": 'a\\b"c',
                                                                           "error": "insufficient_scope"})]),
    ('Basic realm="r", Bearer realm="t", service="s"', [("basic", {"realm": "r"}),
                                                         ("bearer", {"realm": "t", "service": "s"})]),
    ('Basic realm="r",Bearer realm="t"', [("basic", {"realm": "r"}), ("bearer", {"realm": "t"})]),
    ('Negotiate x=1, Basic realm="r"', [("negotiate", {"x": "1"}), ("basic", {"realm": "r"})]),
    ('Bearer realm=""', [("bearer", {"realm": ""})]),
    ("Basic realm=r, ", [("basic", {"realm": "r"})]),                         # trailing separators
    ("Basic realm=r ,  ", [("basic", {"realm": "r"})]),
    ('Basic realm="r", Xtra realm="x"', [("basic", {"realm": "r"}), ("xtra", {"realm": "x"})]),
    ("Bearer =x", [("bearer", {})]),
])
def test_parse_www_authenticate(header: str, want: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, c.params) for c in parse_www_authenticate(header)] == want


def test_challenge_properties() -> None:
    ch = Challenge("bearer", {"realm": "https://t", "service": "s", "scope": "a:b:pull  c:d:push"})
    assert (ch.realm, ch.service, ch.scopes) == ("https://t", "s", ("a:b:pull", "c:d:push"))
    empty = Challenge("bearer")
    assert (empty.realm, empty.service, empty.scopes) == (None, None, ())
    assert Challenge("bearer", {"scope": ""}).scopes == ()


# ---- token cache (the fetcher here is a plain function: what is tested is the cache around it) ----------
def _state(expires_in: float, creds: dict[str, Credential] | None = None) -> tuple[AuthState, list[tuple]]:
    calls: list[tuple] = []

    def fetch(ch: Challenge, scopes: tuple[str, ...], cred: Credential | None) -> tuple[str, float]:
        calls.append((ch.realm, scopes, cred))
        return f"tok-{len(calls)}", expires_in

    return AuthState(lambda host: (creds or {}).get(host), fetch), calls


def test_token_cache_is_per_realm_service_and_scopes() -> None:
    alice = Credential("alice", "pw")
    st, calls = _state(300, {"h:1": alice})
    a = Challenge("bearer", {"realm": "https://t/a", "service": "s"})
    b = Challenge("bearer", {"realm": "https://t/b", "service": "s"})
    assert st.new_token("h:1", a, ("x:pull",)) == "tok-1" and calls == [("https://t/a", ("x:pull",), alice)]
    assert st.cached_token(a, ("x:pull",)) == "tok-1"
    assert st.cached_token(a, ("y:pull",)) is None
    assert st.cached_token(b, ("x:pull",)) is None
    assert st.cached_token(Challenge("bearer", {"realm": "https://t/a", "service": "other"}), ("x:pull",)) is None
    assert st.new_token("h:2", b, ("x:pull",)) == "tok-2" and calls[-1][2] is None
    assert st.token_fetches == 2
    st.forget_token(a, ("x:pull",))
    assert st.cached_token(a, ("x:pull",)) is None and st.cached_token(b, ("x:pull",)) == "tok-2"
    st.forget_token(a, ("x:pull",))      # forgetting twice is fine


@pytest.mark.parametrize("expires_in,life", [(300, 300 - EXPIRY_MARGIN), (50, 50 - EXPIRY_MARGIN), (30, 24.0), (20, 16.0),
                                             (2, 1.6)])
def test_token_refreshed_a_little_before_expiry(expires_in: float, life: float) -> None:
    """A token lives ``expires_in`` less a fifth of it, at most ``EXPIRY_MARGIN`` seconds. Checked on the
    recorded deadline (white box: ``_tokens``), bounded by the clock read before and after."""
    st, _ = _state(expires_in)
    ch = Challenge("bearer", {"realm": "https://t", "service": "s"})
    t0 = time.monotonic()
    st.new_token("h", ch, ("x:pull",))
    t1 = time.monotonic()
    (tok,) = st._tokens.values()
    assert t0 + life <= tok.expires_at <= t1 + life
    assert st.cached_token(ch, ("x:pull",)) == "tok-1"      # fresh: served from the cache


def test_expired_token_is_not_served() -> None:
    st, _ = _state(0)
    ch = Challenge("bearer", {"realm": "https://t"})
    st.new_token("h", ch, ())
    assert st.cached_token(ch, ()) is None


def test_set_challenge_drops_the_scope_and_keeps_the_rest() -> None:
    st, _ = _state(300)
    st.set_challenge("h", Challenge("bearer", {"realm": "r", "service": "s", "scope": "repository:x:pull"}))
    got = st.challenge("h")
    assert got == Challenge("bearer", {"realm": "r", "service": "s"}) and st.challenge("other") is None


# ---- the flow against real registries -----------------------------------------------------------------
@pytest.fixture
def tok(token_registry: Registry) -> Iterator[tuple[Registry, FaultProxy]]:
    push_test_image(token_registry, "tok/app:v1", [100], seed=5)
    push_test_image(token_registry, "tok/other:v1", [100], seed=6)
    with FaultProxy(token_registry) as px:
        yield token_registry, px


def _auth_of(px: FaultProxy, path_part: str) -> list[str | None]:
    return [h.get("Authorization") for _, p, h in px.requests if path_part in p]


def test_bearer_challenge_learnt_once_then_tokens_sent_up_front(tok: tuple[Registry, FaultProxy],
                                                                tmp_path: Path) -> None:
    reg, px = tok
    assert reg.token_server is not None
    before = len(reg.token_server.requests)
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json", use_mirrors=False)) as c:
        ref = parse(f"{px.host}/tok/app:v1")
        for _ in range(2):
            c.get_manifest(ref)
        assert c.auth.token_fetches == 1
    asked = reg.token_server.requests[before:]
    assert [(r["scopes"], r["service"], r["user"]) for r in asked] == [(["repository:tok/app:pull"], SERVICE, None)]
    # the ping learnt the challenge; both manifest requests carried the token on their first try (no 401 round)
    assert _auth_of(px, "/v2/tok/app/manifests/v1") == [_auth_of(px, "/v2/tok/app/manifests/v1")[0]] * 2
    assert str(_auth_of(px, "/v2/tok/app/manifests/v1")[0]).startswith("Bearer ey")
    assert [p for _, p, _ in px.requests if p == "/v2/"] == ["/v2/"]


def test_challenge_scopes_are_added_to_ours(tok: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    """A request for tok/other with a token asked for tok/app only: the registry's 401 names the scope it
    wants; the client asks again for both scopes (sorted, once each) and the retry succeeds."""
    reg, px = tok
    assert reg.token_server is not None
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json", use_mirrors=False)) as c:
        ref = parse(f"{px.host}/tok/app:v1")
        url = f"http://{px.host}/v2/tok/other/manifests/v1"
        before = len(reg.token_server.requests)
        resp = c.request("GET", ref, url, what="get", headers={"Accept": OCI_MANIFEST})
        assert resp.status_code == 200
        assert c.auth.token_fetches == 2
        scopes = [r["scopes"] for r in reg.token_server.requests[before:]]
        assert scopes == [["repository:tok/app:pull"], ["repository:tok/app:pull", "repository:tok/other:pull"]]
        # the token refused for tok/other (asked for tok/app:pull alone) was dropped from the cache
        c.get_manifest(ref)
        assert c.auth.token_fetches == 3
    first, second = _auth_of(px, "/v2/tok/other/manifests/v1")
    assert first != second and str(second).startswith("Bearer ")


def test_refused_bearer_token_is_not_reused(tok: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    """An anonymous push: the pull-only token is refused, a fresh one is asked for, refused again, and the 401
    reaches the caller; the next attempt starts from the last token and asks again once it is refused."""
    reg, px = tok
    assert reg.token_server is not None
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json", use_mirrors=False)) as c:
        ref = parse(f"{px.host}/tok/new:v1")
        before = len(reg.token_server.requests)
        resp = c.request("POST", ref, "blobs/uploads/", "pull,push", what="start upload")
        assert resp.status_code == 401
        first = c.auth.token_fetches
        k = len(_auth_of(px, "/v2/tok/new/blobs/uploads/"))
        c.request("POST", ref, "blobs/uploads/", "pull,push", what="start upload")
        total = c.auth.token_fetches
    # 2 and 3 (an extra token was asked when the registry spelt the challenge's actions "push,pull": scopes are
    # now merged, see the next test); a transient 5xx retried after a refused token was dropped rightly costs one
    # more token, so the counts are lower bounds and the order of the tokens is exact
    assert first >= 2 and total >= first + 1
    asked = reg.token_server.requests[before:]
    assert [r["scopes"] for r in asked] == [["repository:tok/new:pull,push"]] * total
    assert all(r["user"] is None for r in asked)
    posts = _auth_of(px, "/v2/tok/new/blobs/uploads/")
    assert all(p is not None and p.startswith("Bearer ") for p in posts)
    assert posts[k] == posts[k - 1]          # the next attempt starts from the last token...
    assert posts[-1] != posts[k]             # ...and asks again once it is refused
    assert len(set(posts)) == total          # every token fetched was sent, none reused after a fresh one came


def test_mount_asks_one_token_for_both_repositories(tok: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    reg, px = tok
    assert reg.token_server is not None and reg.password
    auth = write_auth_file(tmp_path / "auth.json", px.host, "bob", reg.password)
    with RegistryClient(RegistryOptions(auth_file=auth, use_mirrors=False)) as c:
        before = len(reg.token_server.requests)
        c.request("HEAD", parse(f"{px.host}/tok/b:v1"), "blobs/sha256:" + "0" * 64, "pull,push", what="head",
                  extra_scopes=("repository:tok/a:pull", "repository:tok/b:pull,push"))
    asked = reg.token_server.requests[before:]
    assert [(r["scopes"], r["user"]) for r in asked] == [(["repository:tok/a:pull", "repository:tok/b:pull,push"],
                                                          "bob")]


@pytest.fixture
def basic(tls_registry: Registry) -> Iterator[tuple[Registry, FaultProxy]]:
    push_test_image(tls_registry, "b/app:v1", [100], seed=7)
    with FaultProxy(tls_registry) as px:
        yield tls_registry, px


def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_basic_credentials_sent_up_front_once_the_challenge_is_known(basic: tuple[Registry, FaultProxy],
                                                                     tmp_path: Path) -> None:
    reg, px = basic
    assert reg.password
    auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", reg.password)
    with RegistryClient(RegistryOptions(auth_file=auth, use_mirrors=False)) as c:
        c.get_manifest(parse(f"{px.host}/b/app:v1"))
        c.get_manifest(parse(f"{px.host}/b/app:v1"))
        assert c.auth.token_fetches == 0
    assert _auth_of(px, "/manifests/v1") == [_basic("alice", reg.password)] * 2


def test_basic_without_a_ping_answers_the_401(basic: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    """Straight to a manifest with no challenge known: 401 Basic, then one retry with the stored credentials."""
    reg, px = basic
    assert reg.password
    st = AuthState(lambda host: Credential("alice", reg.password or "") if host == px.host else None,
                   lambda *a: ("never", 1.0))
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"http://{px.host}/v2/b/app/manifests/v1", headers={"Accept": OCI_MANIFEST},
                     auth=RegistryAuth(st, px.host, ("repository:b/app:pull",)))
    assert r.status_code == 200
    assert _auth_of(px, "/manifests/v1") == [None, _basic("alice", reg.password)]
    assert st.challenge(px.host) == Challenge("basic", {"realm": "sealer-test"})


def test_refused_basic_credentials_are_not_retried(basic: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    reg, px = basic
    auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", "wrong")
    with RegistryClient(RegistryOptions(auth_file=auth, use_mirrors=False)) as c, \
            pytest.raises(AuthError, match="unauthorized"):
        c.get_manifest(parse(f"{px.host}/b/app:v1"))
    assert _auth_of(px, "/manifests/v1") == [_basic("alice", "wrong")]


def test_no_credentials_no_retry(basic: tuple[Registry, FaultProxy], tmp_path: Path) -> None:
    _, px = basic
    st = AuthState(lambda host: None, lambda *a: ("never", 1.0))
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"http://{px.host}/v2/b/app/manifests/v1", auth=RegistryAuth(st, px.host, ()))
    assert r.status_code == 401
    assert _auth_of(px, "/manifests/v1") == [None]
    assert st.challenge(px.host) == Challenge("basic", {"realm": "sealer-test"})


def test_credentials_never_go_to_another_host(basic: tuple[Registry, FaultProxy]) -> None:
    """Auth for host A on a request to host B: nothing added, the 401 not answered, nothing learnt."""
    reg, px = basic
    st = AuthState(lambda host: Credential("alice", reg.password or ""), lambda *a: ("never", 1.0))
    st.set_challenge("a.example:5000", Challenge("basic", {"realm": "x"}))
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"http://{px.host}/v2/b/app/manifests/v1", auth=RegistryAuth(st, "a.example:5000", ()))
    assert r.status_code == 401
    assert _auth_of(px, "/manifests/v1") == [None]
    assert st.challenge(px.host) is None


def test_only_unanswerable_schemes_fail_clearly() -> None:
    """A 401 whose challenges are all schemes we cannot answer (the httpx.Auth generator driven by hand; the same
    against a real registry behind a rewriting proxy is in test_auth_challenges.py): an AuthError naming the
    schemes and the host, nothing learnt, no credentials sent."""
    st = AuthState(lambda host: Credential("u", "p"), lambda *a: ("never", 1.0))
    flow = RegistryAuth(st, "h:1", ("b", "a", "b")).sync_auth_flow(httpx.Request("GET", "http://h:1/v2/"))
    req = next(flow)
    assert "Authorization" not in req.headers
    with pytest.raises(AuthError, match=r"authenticate at h:1: the registry offers only Negotiate, NTLM, "
                                        r"Digest authentication") as ei:
        flow.send(httpx.Response(401, headers=[("WWW-Authenticate", 'Negotiate realm="x", NTLM'),
                                               ("WWW-Authenticate", 'Digest realm="d", nonce="n", Negotiate')]))
    assert ei.value.status == 401 and "Bearer" in str(ei.value)
    assert st.challenge("h:1") is None
    assert RegistryAuth(st, "h:1", ("b", "a", "b")).scopes == ("a", "b")


def test_401_without_challenge_is_returned() -> None:
    st = AuthState(lambda host: Credential("u", "p"), lambda *a: ("never", 1.0))
    flow = RegistryAuth(st, "h:1", ()).sync_auth_flow(httpx.Request("GET", "http://h:1/v2/"))
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401))
    assert st.challenge("h:1") is None


def test_bearer_preferred_when_both_are_offered() -> None:
    """The generator protocol of httpx.Auth driven by hand (the stock registry offers one scheme at a time)."""
    calls: list[tuple[str | None, tuple[str, ...]]] = []

    def fetch(ch: Challenge, scopes: tuple[str, ...], cred: Credential | None) -> tuple[str, float]:
        calls.append((ch.realm, scopes))
        return "T", 300

    st = AuthState(lambda host: Credential("u", "p"), fetch)
    flow = RegistryAuth(st, "h:1", ("repository:x:pull",)).sync_auth_flow(httpx.Request("GET", "http://h:1/v2/x"))
    next(flow)
    retry = flow.send(httpx.Response(401, headers={
        "WWW-Authenticate": 'Basic realm="b", Bearer realm="https://t/tok",service="s",scope="repository:y:pull"'}))
    assert retry.headers["Authorization"] == "Bearer T"
    assert calls == [("https://t/tok", ("repository:x:pull", "repository:y:pull"))]
    assert st.challenge("h:1") == Challenge("bearer", {"realm": "https://t/tok", "service": "s"})
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200))


def test_known_basic_challenge_without_credentials_sends_nothing() -> None:
    st = AuthState(lambda host: None, lambda *a: ("never", 1.0))
    st.set_challenge("h:1", Challenge("basic", {"realm": "r"}))
    flow = RegistryAuth(st, "h:1", ()).sync_auth_flow(httpx.Request("GET", "http://h:1/v2/"))
    assert "Authorization" not in next(flow).headers



# ---- fetching a token (RegistryClient._fetch_token, the fetcher the client gives AuthState) ----------------
def test_token_request_carries_service_scopes_and_credentials(token_registry: Registry, tmp_path: Path) -> None:
    reg = token_registry
    assert reg.token_server is not None and reg.password
    ts = reg.token_server
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json")) as c:
        ch = Challenge("bearer", {"realm": ts.realm + "?account=bob", "service": SERVICE})
        tok, expires = c._fetch_token(ch, ("repository:a:pull", "repository:b:push"), Credential("bob", reg.password))
        assert tok.count(".") == 2 and expires == ts.expires_in        # a JWT, with the server's lifetime
        assert ts.requests[-1] == {"user": "bob", "scopes": ["repository:a:pull", "repository:b:push"], "ok": True,
                                   "service": SERVICE}
        # no service, no scopes, a credential without a password (an identity token only): anonymous request
        c._fetch_token(Challenge("bearer", {"realm": ts.realm}), (), Credential("bob", "", identity_token="x"))
        assert ts.requests[-1] == {"user": None, "scopes": [], "ok": True, "service": None}
        with pytest.raises(AuthError, match=r"authenticate at 127.0.0.1:\d+: user 'bob' refused \(UNAUTHORIZED: "
                                            r"bad credentials\)"):
            c._fetch_token(ch, (), Credential("bob", "wrong"))


def test_anonymous_token_refused(tmp_path: Path) -> None:
    from helpers.registry import start_registry

    with start_registry(tmp_path / "r", token_users={"bob": "pw"}, token_anonymous_pull=False) as reg, \
            RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json")) as c:
        assert reg.token_server is not None
        with pytest.raises(AuthError, match="anonymous access refused"):
            c._fetch_token(Challenge("bearer", {"realm": reg.token_server.realm}), (), None)


@pytest.mark.parametrize("realm,error", [
    (None, "authenticate: bearer challenge without a realm"),
    ("", "authenticate: bearer challenge without a realm"),
    ("ftp://127.0.0.1/token", "authenticate at ftp://127.0.0.1/token: not an http\\(s\\) URL"),
    ("https:///token", "not an http\\(s\\) URL"),
    ("http://auth.example/token", "authenticate at http://auth.example/token: refusing to send credentials over "
                                  "plain HTTP \\(mark auth.example --insecure-registry to allow\\)"),
])
def test_bad_realms_refused_before_any_request(realm: str | None, error: str, tmp_path: Path) -> None:
    params = {} if realm is None else {"realm": realm}
    with RegistryClient(RegistryOptions(auth_file=tmp_path / "none.json")) as c, pytest.raises(AuthError, match=error):
        c._fetch_token(Challenge("bearer", params), (), Credential("u", "p"))


def test_token_cache_without_service_or_realm() -> None:
    """Challenges without ``service`` (or, with a lenient fetcher, without ``realm``) cache and forget too."""
    st, calls = _state(300)
    for ch in (Challenge("bearer", {"realm": "https://t"}), Challenge("bearer", {"service": "s"}), Challenge("bearer")):
        tok = st.new_token("h", ch, ("x:pull",))
        assert st.cached_token(ch, ("x:pull",)) == tok
        st.forget_token(ch, ("x:pull",))
        assert st.cached_token(ch, ("x:pull",)) is None
    assert len(calls) == 3


def test_scopes_are_merged_per_resource_whatever_the_order_of_actions() -> None:
    """docker-distribution lists a challenge's actions in no fixed order (``push,pull`` or ``pull,push``): one
    resource is one scope with its actions sorted, so a token cached for one spelling serves the other."""
    from sealer.registry.auth import merge_scopes

    assert merge_scopes(["repository:tok/new:pull,push", "repository:tok/new:push,pull"]) == (
        "repository:tok/new:pull,push",)
    assert merge_scopes(["repository:a:pull", "repository:b:push,pull", "repository:a:push", "registry:catalog:*"]) \
        == ("registry:catalog:*", "repository:a:pull,push", "repository:b:pull,push")
    assert merge_scopes(["repository:a:pull", "repository:a:pull"]) == ("repository:a:pull",)
    assert merge_scopes([]) == ()
