"""Responses with several authentication challenges (RFC 7235 §4.1): ``Negotiate, Basic realm=...`` in one
``WWW-Authenticate`` header or spread over several, as a registry behind a Kerberos/SPNEGO proxy or Artifactory
sends them. The parser's edge cases, then real pulls from a real docker-registry (htpasswd Basic, and token auth)
behind a FaultProxy that rewrites every challenge; what the proxy sent and what the client answered are read
from the proxy's logs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.cli import Sealer
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, write_auth_file

from sealer.digest import Digest
from sealer.errors import AuthError
from sealer.registry import RegistryOptions, pull
from sealer.registry.auth import Challenge, choose_challenge, parse_challenges, parse_www_authenticate
from sealer.store.layout import Store

Parsed = list[tuple[str, dict[str, str], str | None]]


# ---- the parser ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header,want", [
    ("Negotiate, Basic realm=\"reg\"", [("negotiate", {}, None), ("basic", {"realm": "reg"}, None)]),
    ("Negotiate,Basic realm=reg", [("negotiate", {}, None), ("basic", {"realm": "reg"}, None)]),
    ("NTLM, Negotiate, Basic realm=\"Artifactory Realm\"",
     [("ntlm", {}, None), ("negotiate", {}, None), ("basic", {"realm": "Artifactory Realm"}, None)]),
    ("Negotiate abc==", [("negotiate", {}, "abc==")]),
    ("Negotiate YII+/x-._~=, Basic realm=r", [("negotiate", {}, "YII+/x-._~="), ("basic", {"realm": "r"}, None)]),
    ("Negotiate abc== , Basic", [("negotiate", {}, "abc=="), ("basic", {}, None)]),
    ("Negotiate abc", [("negotiate", {}, "abc")]),
    # a quoted value holding commas, an escaped quote, an escaped backslash, and something that looks like a scheme
    ('Basic realm="a, b \\"c\\" \\\\ d, Bearer realm=x", charset="UTF-8"',
     [("basic", {"realm": 'a, b "c" \\ d, Bearer realm=x', "charset": "UTF-8"}, None)]),
    ('bEaReR REALM="https://t/tok",Service="reg",SCOPE="repository:a:pull,push"',
     [("bearer", {"realm": "https://t/tok", "service": "reg", "scope": "repository:a:pull,push"}, None)]),
    ("Basic realm = \"r\" ,  ,, Bearer   realm=\"t\"",                   # BWS around '=', empty list elements
     [("basic", {"realm": "r"}, None), ("bearer", {"realm": "t"}, None)]),
    ('Digest realm="d", qop="auth,auth-int", nonce="n", Basic realm="b"',
     [("digest", {"realm": "d", "qop": "auth,auth-int", "nonce": "n"}, None), ("basic", {"realm": "b"}, None)]),
    ("Basic realm=r, charset=UTF-8, Negotiate x==",
     [("basic", {"realm": "r", "charset": "UTF-8"}, None), ("negotiate", {}, "x==")]),
    ("Basic realm=\"unterminated, Bearer realm=x", [("basic", {}, None)]),  # garbage ends the list
    ("Basic realm=\"r\"junk, Bearer realm=x", [("basic", {"realm": "r"}, None), ("junk", {}, None),
                                              ("bearer", {"realm": "x"}, None)]),
    ("= Basic", []),
    (",,, ", []),
])
def test_parse_challenges_rfc7235(header: str, want: Parsed) -> None:
    assert [(c.scheme, c.params, c.token68) for c in parse_www_authenticate(header)] == want


def test_several_headers_are_parsed_in_order() -> None:
    got = parse_challenges(["Negotiate abc==", 'Basic realm="r, s"', "", 'Bearer realm="t",service="s"'])
    assert [(c.scheme, c.params, c.token68) for c in got] == [
        ("negotiate", {}, "abc=="), ("basic", {"realm": "r, s"}, None),
        ("bearer", {"realm": "t", "service": "s"}, None)]


@pytest.mark.parametrize("header,want", [
    ('Negotiate, Basic realm="b"', "basic"),
    ('Basic realm="b", Negotiate, Bearer realm="t"', "bearer"),
    ('Bearer realm="t", Basic realm="b"', "bearer"),
    ('NTLM, basic realm="b", BASIC realm="second"', "basic"),
])
def test_bearer_then_basic_is_chosen(header: str, want: str) -> None:
    ch = choose_challenge(parse_www_authenticate(header), "h:1")
    assert ch is not None and ch.scheme == want
    if want == "basic":
        assert ch.realm == "b"          # the first Basic offered


def test_nothing_offered_is_no_choice_and_unanswerable_is_an_error() -> None:
    assert choose_challenge([], "h:1") is None
    with pytest.raises(AuthError, match=r"^authenticate at reg\.example:5000: the registry offers only Negotiate, "
                                        r"NTLM, Digest, x-custom authentication; sealer can answer Bearer \(token\) "
                                        r"and Basic only$") as ei:
        choose_challenge([Challenge("negotiate", {}, "abc=="), Challenge("ntlm"), Challenge("negotiate"),
                          Challenge("digest", {"realm": "d"}), Challenge("x-custom")], "reg.example:5000")
    assert ei.value.hint == "ask for Basic or token auth on the registry (or its proxy), or use a mirror"
    assert ei.value.status == 401


# ---- real registries behind a rewriting proxy -------------------------------------------------------------
def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def _pull_and_check(store: Store, ref: str, auth: Path, layer_digests: list[str]) -> None:
    stored = pull(store, ref, RegistryOptions(auth_file=auth, use_mirrors=False))
    si = store.image(stored.name)
    assert [str(x.digest) for x in si.manifest.layers] == layer_digests
    assert all(store.has_blob(Digest(d)) for d in layer_digests)


BASIC_FORMS: dict[str, Callable[[list[str]], list[str]]] = {
    "negotiate-then-basic": lambda vs: [f"Negotiate, {', '.join(vs)}"],
    "separate-headers": lambda vs: ["Negotiate", "NTLM", *vs],
    "token68-and-quoted-commas": lambda vs: [f'Negotiate YIIabc+/==, Digest realm="a, \\"b\\"", nonce="n", '
                                             f"{vs[0].replace('Basic', 'bASIC').replace('realm', 'REALM')}, "
                                             'charset="UTF-8"'],
}


@pytest.mark.parametrize("form", list(BASIC_FORMS))
def test_pull_through_multi_challenge_basic(tls_registry: Registry, tmp_path: Path, form: str) -> None:
    """htpasswd registry, its ``Basic realm="sealer-test"`` rewritten: the client skips Negotiate/NTLM/Digest,
    answers Basic once and sends Basic up front from then on; the pull succeeds."""
    reg = tls_registry
    assert reg.password
    img = push_test_image(reg, "mc/app:v1", [70_000, 100], seed=11)
    with FaultProxy(reg, rewrite_challenges=BASIC_FORMS[form]) as px:
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", reg.password)
        _pull_and_check(Store(tmp_path / "store"), f"{px.host}/mc/app:v1", auth,
                        img.manifests[0].layer_digests)
    # the proxy really sent the multi-challenge form (the registry's challenge inside it), on the ping
    assert px.challenges_sent and px.challenges_sent[0][:2] == ("GET", "/v2/")
    sent = px.challenges_sent[0][2]
    assert sent == BASIC_FORMS[form](['Basic realm="sealer-test"']) and len(sent) == (3 if form ==
                                                                                      "separate-headers" else 1)
    # the ping went unauthenticated, then every request carried alice's Basic credentials: no 401 after the ping
    auths = [h.get("Authorization") for _, _, h in px.requests]
    assert auths[0] is None and auths[1:] and set(auths[1:]) == {_basic("alice", reg.password)}
    assert len(px.challenges_sent) == 1


TOKEN_FORMS: dict[str, Callable[[list[str]], list[str]]] = {
    "basic-first-one-header": lambda vs: [f'Negotiate, Basic realm="reg", {vs[0]}'],
    "basic-first-separate-headers": lambda vs: ["Negotiate abc==", 'Basic realm="reg"', *vs],
}


@pytest.mark.parametrize("form", list(TOKEN_FORMS))
def test_pull_through_multi_challenge_bearer_preferred(token_registry: Registry, tmp_path: Path, form: str) -> None:
    """Token registry, its Bearer challenge offered after Negotiate and Basic: Bearer is chosen (a token is
    fetched with the scope of the challenge; Basic credentials never reach the registry)."""
    reg = token_registry
    assert reg.token_server is not None and reg.password
    img = push_test_image(reg, "mt/app:v1", [50_000], seed=12)
    before = len(reg.token_server.requests)
    with FaultProxy(reg, rewrite_challenges=TOKEN_FORMS[form]) as px:
        auth = write_auth_file(tmp_path / "auth.json", px.host, "bob", reg.password)
        _pull_and_check(Store(tmp_path / "store"), f"{px.host}/mt/app:v1", auth, img.manifests[0].layer_digests)
    assert px.challenges_sent
    assert all(any(v.startswith("Bearer ") or ", Bearer " in v for v in sent) and "Negotiate" in sent[0]
               for _, _, sent in px.challenges_sent)
    auths = [h.get("Authorization") for _, _, h in px.requests]
    assert auths[0] is None and auths[1:]
    assert all(a is None or a.startswith("Bearer ey") for a in auths)
    assert any(a is not None for a in auths)
    asked = reg.token_server.requests[before:]
    assert asked and all(r["user"] == "bob" and r["service"] is not None for r in asked)
    assert ["repository:mt/app:pull"] in [r["scopes"] for r in asked]


@pytest.mark.parametrize("offered", [["Negotiate"], ["Negotiate, NTLM"], ["Negotiate abc==", 'Digest realm="x"']])
def test_only_unanswerable_schemes_fail_with_a_clear_error(tls_registry: Registry, tmp_path: Path,
                                                           offered: list[str]) -> None:
    """A registry (behind the proxy) offering only schemes we cannot answer: the pull fails at once with an
    AuthError naming the schemes and the registry; one request, no credentials sent, no 401 loop."""
    reg = tls_registry
    assert reg.password
    with FaultProxy(reg, rewrite_challenges=lambda vs: offered) as px:
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", reg.password)
        names = {"Negotiate": "Negotiate", "Negotiate, NTLM": "Negotiate, NTLM",
                 "Negotiate abc==": "Negotiate, Digest"}[offered[0]]
        with pytest.raises(AuthError, match=rf"^authenticate at {px.host}: the registry offers only {names} "
                                            r"authentication; sealer can answer"):
            pull(Store(tmp_path / "store"), f"{px.host}/mc/app:v1", RegistryOptions(auth_file=auth, use_mirrors=False))
    assert [(m, p) for m, p, _ in px.requests] == [("GET", "/v2/")]
    assert [h.get("Authorization") for _, _, h in px.requests] == [None]
    assert [s for _, _, s in px.challenges_sent] == [offered]


def test_cli_pull_reports_unanswerable_schemes(tls_registry: Registry, tmp_path: Path,
                                               sealer: Sealer) -> None:
    """The same through the real CLI in a subprocess: a non-zero exit and the error on stderr, no traceback."""
    with FaultProxy(tls_registry, rewrite_challenges=lambda vs: ["Negotiate, NTLM"]) as px:
        r = sealer.proc("pull", f"{px.host}/mc/app:v1", "--authfile", str(tmp_path / "none.json"), timeout=120)
    assert r.returncode != 0
    assert f"authenticate at {px.host}: the registry offers only Negotiate, NTLM authentication" in r.stderr
    assert "ask for Basic or token auth on the registry (or its proxy), or use a mirror" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(px.requests) == 1
