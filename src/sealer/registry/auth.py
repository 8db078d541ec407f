"""Registry authentication as an httpx auth flow: anonymous, Basic, and Bearer tokens
(https://distribution.github.io/distribution/spec/auth/token/).

The flow adds what it already knows (a cached token for the scope, or Basic for a host that asked for it),
sends the request, and on a 401 reads ``WWW-Authenticate``, fetches a token for the needed scopes (or adds
Basic) and sends it once more. Tokens are cached per (realm, service, scopes) until shortly before expiry.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field

import httpx

from sealer.errors import AuthError
from sealer.registry.credentials import Credential

# RFC 7235 §2.1 / RFC 7230 §3.2.6: token, token68, quoted-string; values that are no token (``realm=https://a/t``,
# which registries do send) are read up to the next comma or space
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE = re.compile(rf"({_TOKEN})(?=[ \t,]|$)")
_PARAM_RE = re.compile(rf'({_TOKEN})[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*)(?=[ \t,]|$))')
_TOKEN68_RE = re.compile(r"[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*(?=,|$)")
_UNESCAPE_RE = re.compile(r"\\(.)")
ANSWERABLE = ("bearer", "basic")                  # the schemes we answer, in order of preference
EXPIRY_MARGIN = 10.0


@dataclass(frozen=True)
class Challenge:
    scheme: str                               # lowercase: "basic", "bearer", "negotiate", ...
    params: dict[str, str] = field(default_factory=dict)   # names lowercase
    token68: str | None = None                # ``Negotiate YII...==``: the single blob instead of params

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        s = self.params.get("scope")
        return tuple(s.split()) if s else ()


def parse_www_authenticate(value: str) -> list[Challenge]:
    """Every challenge of one ``WWW-Authenticate`` header value (RFC 7235 §4.1: ``1#challenge``, a challenge being
    ``auth-scheme [ 1*SP ( token68 / #auth-param ) ]``). Scheme and parameter names are lowercased; a quoted value
    may hold commas and backslash escapes. A malformed tail ends the list; what came before it is kept."""
    out: list[Challenge] = []
    pos = 0
    while True:
        pos = _skip_separators(value, pos)
        m = _SCHEME_RE.match(value, pos)
        if m is None:
            return out  # the end, or garbage (a lone '=', an unterminated quote): what came before is kept
        scheme, pos = m.group(1).lower(), m.end()
        t68 = _TOKEN68_RE.match(value, pos)
        if t68 is not None:
            out.append(Challenge(scheme, {}, t68.group(1)))
            pos = t68.end()
            continue
        params: dict[str, str] = {}
        # a token followed by '=' is a parameter of this challenge; a token without one starts the next challenge
        while (pm := _PARAM_RE.match(value, _skip_separators(value, pos))) is not None:
            quoted, bare = pm.group(2), pm.group(3)
            params[pm.group(1).lower()] = _UNESCAPE_RE.sub(r"\1", quoted) if quoted is not None else bare
            pos = pm.end()
        out.append(Challenge(scheme, params))


def _skip_separators(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t,":
        pos += 1
    return pos


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """The challenges of all ``WWW-Authenticate`` headers of one response, in order."""
    return [ch for v in values for ch in parse_www_authenticate(v)]


def choose_challenge(challenges: Iterable[Challenge], host: str) -> Challenge | None:
    """The challenge we answer: Bearer first, then Basic. ``None`` when nothing was offered; AuthError naming
    the offered schemes when none of them is one we can answer (Negotiate, NTLM, Digest, ...)."""
    offered = list(challenges)
    for scheme in ANSWERABLE:
        for ch in offered:
            if ch.scheme == scheme:
                return ch
    if not offered:
        return None
    names = ", ".join(dict.fromkeys(_SCHEME_NAMES.get(c.scheme, c.scheme) for c in offered))
    raise AuthError(f"authenticate at {host}: the registry offers only {names} authentication; "
                    "sealer can answer Bearer (token) and Basic only",
                    hint="ask for Basic or token auth on the registry (or its proxy), or use a mirror", status=401)


_SCHEME_NAMES = {"negotiate": "Negotiate", "ntlm": "NTLM", "digest": "Digest", "basic": "Basic",
                 "bearer": "Bearer", "kerberos": "Kerberos", "hoba": "HOBA", "mutual": "Mutual"}


@dataclass
class _Token:
    value: str
    expires_at: float


TokenFetcher = Callable[[Challenge, tuple[str, ...], Credential | None], tuple[str, float]]
CredentialLookup = Callable[[str], Credential | None]


class AuthState:
    """What one client learned about each host: its challenge, and the tokens it was given (thread-safe)."""

    def __init__(self, credentials: CredentialLookup, fetch_token: TokenFetcher) -> None:
        self._credentials = credentials
        self._fetch_token = fetch_token
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str, tuple[str, ...]], _Token] = {}
        self._lock = threading.Lock()
        self.token_fetches = 0

    def challenge(self, host: str) -> Challenge | None:
        with self._lock:
            return self._challenges.get(host)

    def set_challenge(self, host: str, ch: Challenge) -> None:
        with self._lock:
            self._challenges[host] = Challenge(ch.scheme, {k: v for k, v in ch.params.items() if k != "scope"})

    def credential(self, host: str) -> Credential | None:
        return self._credentials(host)

    def cached_token(self, ch: Challenge, scopes: tuple[str, ...]) -> str | None:
        key = (ch.realm or "", ch.service or "", scopes)
        with self._lock:
            tok = self._tokens.get(key)
            if tok is not None and tok.expires_at > time.monotonic():
                return tok.value
        return None

    def new_token(self, host: str, ch: Challenge, scopes: tuple[str, ...]) -> str:
        value, expires_in = self._fetch_token(ch, scopes, self.credential(host))
        with self._lock:
            self.token_fetches += 1
            # refresh a little before the server's expiry (a fifth of the lifetime, at most 10 s early)
            life = expires_in - min(EXPIRY_MARGIN, expires_in / 5)
            self._tokens[(ch.realm or "", ch.service or "", scopes)] = _Token(value, time.monotonic() + life)
        return value

    def forget_token(self, ch: Challenge, scopes: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens.pop((ch.realm or "", ch.service or "", scopes), None)


def merge_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """One scope per resource with its actions united and sorted: ``repository:a:push,pull`` and
    ``repository:a:pull`` give ``repository:a:pull,push``. docker-distribution lists a challenge's actions in
    no fixed order, so scopes are compared (and tokens cached) in this form only."""
    actions: dict[str, set[str]] = {}
    for sc in scopes:
        resource, sep, acts = sc.rpartition(":")
        if not sep or not resource:
            actions.setdefault(sc, set())
            continue
        actions.setdefault(resource, set()).update(a for a in acts.split(",") if a)
    return tuple(sorted(f"{r}:{','.join(sorted(a))}" if a else r for r, a in actions.items()))


class RegistryAuth(httpx.Auth):
    """Auth for requests to one registry ``host`` needing ``scopes`` (e.g. ``repository:ns/app:pull``)."""

    def __init__(self, state: AuthState, host: str, scopes: tuple[str, ...]) -> None:
        self.state = state
        self.host = host
        self.scopes = merge_scopes(scopes)

    def _apply_known(self, request: httpx.Request) -> Challenge | None:
        ch = self.state.challenge(self.host)
        if ch is None:
            return None
        if ch.scheme == "bearer":
            tok = self.state.cached_token(ch, self.scopes)
            if tok is None:
                tok = self.state.new_token(self.host, ch, self.scopes)
            request.headers["Authorization"] = f"Bearer {tok}"
        elif ch.scheme == "basic":
            cred = self.state.credential(self.host)
            if cred is not None:
                request.headers["Authorization"] = cred.basic_header()
        return ch

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.netloc.decode() != self.host:  # never hand credentials to another host
            yield request
            return
        known = self._apply_known(request)
        response = yield request
        if response.status_code != 401:
            return
        ch = choose_challenge(parse_challenges(response.headers.get_list("WWW-Authenticate")), self.host)
        if ch is None:
            return
        self.state.set_challenge(self.host, ch)
        if ch.scheme == "bearer":
            scopes = merge_scopes((*self.scopes, *ch.scopes))
            if known is not None and known.scheme == "bearer":
                self.state.forget_token(known, self.scopes)
            tok = self.state.new_token(self.host, ch, scopes)
            request.headers["Authorization"] = f"Bearer {tok}"
        else:
            if known is not None and known.scheme == "basic" and "Authorization" in request.headers:
                return  # the stored credentials were refused: let the 401 through
            cred = self.state.credential(self.host)
            if cred is None:
                return
            request.headers["Authorization"] = cred.basic_header()
        yield request
