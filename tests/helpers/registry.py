"""Real ``docker-registry`` (distribution 2.8) processes for tests, scripts, benchmarks and the demo.

Plain functions (usable outside pytest)::

    reg = start_registry(workdir)                              # plain HTTP on 127.0.0.1:<random>
    reg = start_registry(workdir, tls=True, htpasswd=("alice", "s3cret"))   # Basic auth over TLS, test CA
    reg = start_registry(workdir, token_users={"bob": "pw"})  # token auth via an in-process token server
    px  = start_registry(workdir2, proxy_of=reg)               # pull-through cache in front of ``reg``
    img = push_test_image(reg, "ns/app:v1", [1 << 20], platforms=["linux/amd64", "linux/arm64"])
    reg.stop()

Pytest fixtures (function scoped; import them into a conftest with
``from helpers.registry import registry, tls_registry, token_registry, proxy_registry  # noqa: F401``):
``registry``, ``tls_registry``, ``token_registry``, ``proxy_registry`` (a ``ProxyPair``).

Every process is stopped by PID at teardown, and killed at interpreter exit as a last resort.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.registry_images import TestImage, write_oci_layout
from helpers.registry_tls import CertPair, make_ca, make_server_cert
from helpers.registry_token import ISSUER, SERVICE, TokenServer

__all__ = [
    "Registry", "ProxyPair", "TestImage", "start_registry", "push_test_image", "skopeo", "skopeo_inspect_raw",
    "write_auth_file", "write_oci_layout", "free_port",
    "registry", "tls_registry", "token_registry", "proxy_registry",
]

_LIVE: dict[int, subprocess.Popen[bytes]] = {}


@atexit.register
def _kill_leftovers() -> None:
    for pid, proc in list(_LIVE.items()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
    _LIVE.clear()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5) -> None:
    """SIGTERM by PID, then SIGKILL if it does not exit in ``timeout`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """A running registry. ``host`` is ``127.0.0.1:PORT`` (what goes into image references)."""

    host: str
    scheme: str                          # "http" or "https"
    workdir: Path
    storage: Path                        # the filesystem driver's rootdirectory
    proc: subprocess.Popen[bytes]
    ca: CertPair | None = None           # test CA that signed the server certificate (TLS only)
    username: str | None = None          # htpasswd or token-server user
    password: str | None = None
    token_server: TokenServer | None = None
    upstream: Registry | None = None     # for a pull-through cache
    log: Path | None = None
    extra_users: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def cert_dir(self) -> Path | None:
        """A directory holding ``ca.crt`` (for ``skopeo --*-cert-dir`` or ``/etc/docker/certs.d`` style use)."""
        if self.ca is None:
            return None
        d = self.workdir / "certs.d" / self.host
        if not (d / "ca.crt").exists():
            d.mkdir(parents=True, exist_ok=True)
            (d / "ca.crt").write_bytes(self.ca.cert.read_bytes())
        return d

    def ref(self, name: str) -> str:
        """``ns/app:v1`` → ``127.0.0.1:PORT/ns/app:v1``."""
        return f"{self.host}/{name}"

    def skopeo_args(self, side: str) -> list[str]:
        """TLS and credential flags for skopeo, ``side`` is ``src`` or ``dest``."""
        args = [f"--{side}-tls-verify={'true' if self.scheme == 'https' else 'false'}"]
        if self.cert_dir is not None:
            args.append(f"--{side}-cert-dir={self.cert_dir}")
        if self.username is not None:
            args.append(f"--{side}-creds={self.username}:{self.password}")
        return args

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.scheme != "https":
            return None
        return ssl.create_default_context(cafile=str(self.ca.cert)) if self.ca else ssl.create_default_context()

    def stop(self) -> None:
        proc = self.proc
        stop_process(proc)
        _LIVE.pop(proc.pid, None)
        if self.token_server is not None:
            self.token_server.stop()
            self.token_server = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _yaml_str(s: str | Path) -> str:
    return json.dumps(str(s))  # JSON strings are valid YAML scalars


def start_registry(workdir: Path, *, tls: bool = False, htpasswd: tuple[str, str] | None = None,
                   token_users: dict[str, str] | None = None, token_anonymous_pull: bool = True,
                   token_expires_in: int = 300, proxy_of: Registry | None = None,
                   port: int | None = None, ready_timeout: float = 20.0) -> Registry:
    """Start ``docker-registry serve`` on 127.0.0.1 with storage under ``workdir`` and wait until it answers."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    ca = None
    lines = [
        "version: 0.1",
        "log: {level: warn, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {_yaml_str(storage)}}}, delete: {{enabled: true}}}}",
    ]
    user = pw = None
    token_server = None
    if htpasswd is not None:
        user, pw = htpasswd
        hp = workdir / "htpasswd"
        out = subprocess.run(["htpasswd", "-Bbn", user, pw], check=True, capture_output=True).stdout
        hp.write_bytes(out)
        lines.append(f"auth: {{htpasswd: {{realm: sealer-test, path: {_yaml_str(hp)}}}}}")
    elif token_users is not None:
        token_server = TokenServer(workdir / "token", token_users, allow_anonymous=token_anonymous_pull,
                                   expires_in=token_expires_in)
        if token_users:
            user, pw = next(iter(token_users.items()))
        lines.append(
            "auth: {token: {"
            f"realm: {_yaml_str(token_server.realm)}, service: {SERVICE}, issuer: {ISSUER}, "
            f"rootcertbundle: {_yaml_str(token_server.signer.cert)}}}}}"
        )
    if proxy_of is not None:
        lines.append(f"proxy: {{remoteurl: {_yaml_str(proxy_of.url)}}}")
    last_err: Exception | None = None
    for _attempt in range(5):
        p = port or free_port()
        host = f"127.0.0.1:{p}"
        http = f"http: {{addr: {_yaml_str(host)}, secret: sealer-test-secret"
        if tls:
            ca = ca or make_ca(workdir / "tls")
            srv = make_server_cert(workdir / "tls", ca)
            http += f", tls: {{certificate: {_yaml_str(srv.cert)}, key: {_yaml_str(srv.key)}}}"
        http += "}"
        cfg = workdir / "config.yml"
        cfg.write_text("\n".join([*lines, http]) + "\n")
        log = workdir / "registry.log"
        with open(log, "ab") as lf:
            proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=lf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        _LIVE[proc.pid] = proc
        reg = Registry(host=host, scheme="https" if tls else "http", workdir=workdir, storage=storage,
                       proc=proc, ca=ca, username=user, password=pw, token_server=token_server,
                       upstream=proxy_of, log=log, extra_users=dict(token_users or {}))
        try:
            _wait_ready(reg, ready_timeout)
            return reg
        except RuntimeError as e:  # port race: another process took it; try another
            last_err = e
            token = reg.token_server
            reg.token_server = None
            reg.stop()
            reg.token_server = token
            if port is not None:
                break
    if token_server is not None:
        token_server.stop()
    raise RuntimeError(f"start docker-registry in {workdir}: {last_err}")


def _wait_ready(reg: Registry, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ctx = reg.ssl_context()
    while time.monotonic() < deadline:
        if reg.proc.poll() is not None:
            log = reg.log.read_text(errors="replace")[-2000:] if reg.log else ""
            raise RuntimeError(f"registry exited with {reg.proc.returncode}: {log}")
        try:
            urllib.request.urlopen(f"{reg.url}/v2/", timeout=2, context=ctx)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # 401 is an answer: it is up
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"registry at {reg.url} not ready after {timeout}s")


# ---- skopeo ----------------------------------------------------------------------------------------
def skopeo(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run skopeo with a private, empty auth file unless one is given; raise with its stderr on failure."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as td:
        env.setdefault("REGISTRY_AUTH_FILE", os.path.join(td, "auth.json"))
        env["XDG_RUNTIME_DIR"] = td
        p = subprocess.run(["skopeo", *args], capture_output=True, text=True, env=env, timeout=timeout,
                           check=False)
    if p.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def skopeo_inspect_raw(reg: Registry, name: str, *, arch: str | None = None) -> bytes:
    """Exact manifest bytes as skopeo sees them. With ``arch``, skopeo itself picks the child of an index
    (by copying that platform to a scratch OCI layout) and the child's bytes are returned."""
    src = [a.replace("--src-", "--") for a in reg.skopeo_args("src")]
    if not arch:
        return skopeo("inspect", "--raw", *src, f"docker://{reg.ref(name)}").stdout.encode()
    with tempfile.TemporaryDirectory() as td:
        skopeo("--override-arch", arch, "copy", "--quiet", "--preserve-digests", *reg.skopeo_args("src"),
               f"docker://{reg.ref(name)}", f"oci:{td}:x")
        top = json.loads(Path(td, "index.json").read_text())["manifests"][0]["digest"]
        return Path(td, "blobs", "sha256", top[7:]).read_bytes()


def push_test_image(reg: Registry, name: str, layer_sizes: list[int], *, platforms: list[str] | None = None,
                    docker_types: bool = False, seed: int | None = None, layout: Path | None = None,
                    labels: dict[str, str] | None = None) -> TestImage:
    """Generate an image (see ``write_oci_layout``) and push it to ``reg`` as ``name`` with skopeo,
    preserving digests. Returns the image; its digests are what the registry serves."""
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    layout = layout or (reg.workdir / "layouts" / name.replace("/", "_").replace(":", "_"))
    img = write_oci_layout(layout, tag, layer_sizes, platforms=platforms, seed=seed, docker_types=docker_types,
                           labels=labels)
    if docker_types:  # skopeo's oci: transport does not read docker media types from a layout
        _http_push(reg, name, img)
        return img
    args = ["copy", "--quiet", "--preserve-digests", *reg.skopeo_args("dest")]
    if img.is_index:
        args.append("--all")
    skopeo(*args, img.oci_ref, f"docker://{reg.ref(name)}")
    return img


def _http_push(reg: Registry, name: str, img: TestImage) -> None:
    """Minimal, independent uploader (urllib; anonymous or Basic auth): blobs, child manifests, top manifest."""
    import base64

    repo, tag = name.rsplit(":", 1)
    ctx = reg.ssl_context()
    headers = {}
    if reg.username is not None and reg.token_server is None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    elif reg.token_server is not None:
        raise RuntimeError("_http_push: token registries are not supported; use OCI types (skopeo)")

    def call(method: str, url: str, data: bytes | None = None, ctype: str | None = None) -> tuple[int, dict[str, str]]:
        h = dict(headers)
        if ctype:
            h["Content-Type"] = ctype
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        with urllib.request.urlopen(req, context=ctx, timeout=60) as resp:  # noqa: S310 - loopback
            resp.read()
            return resp.status, dict(resp.headers)

    blobs = img.layout / "blobs" / "sha256"
    for m in img.manifests:
        for d in [m.config_digest, *m.layer_digests]:
            _, h = call("POST", f"{reg.url}/v2/{repo}/blobs/uploads/")
            loc = h["Location"]
            loc = loc if loc.startswith("http") else reg.url + loc
            sep = "&" if "?" in loc else "?"
            call("PUT", f"{loc}{sep}digest={d}", (blobs / d[7:]).read_bytes(), "application/octet-stream")
        if img.is_index:
            call("PUT", f"{reg.url}/v2/{repo}/manifests/{m.digest}", m.raw, json.loads(m.raw)["mediaType"])
    call("PUT", f"{reg.url}/v2/{repo}/manifests/{tag}", img.raw, img.media_type)


def write_auth_file(path: Path, host: str, username: str, password: str) -> Path:
    """A docker ``config.json`` with plain ``auths`` credentials for ``host``."""
    import base64

    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"auths": {host: {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}}}
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


# ---- pytest fixtures -------------------------------------------------------------------------------
@dataclass
class ProxyPair:
    upstream: Registry   # plain HTTP registry holding the images
    proxy: Registry      # pull-through cache pointing at it (pushes are refused)


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Plain HTTP registry, anonymous push and pull."""
    with start_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """HTTPS (test CA in ``.ca``) + htpasswd Basic auth: user ``alice``, password in ``.password``."""
    with start_registry(tmp_path_factory.mktemp("tlsreg"), tls=True,
                        htpasswd=("alice", "Tls-Pass-" + os.urandom(6).hex())) as reg:
        yield reg


@pytest.fixture
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """HTTP registry with token auth: user ``bob`` (password ``.password``) may push; anonymous may pull."""
    with start_registry(tmp_path_factory.mktemp("tokreg"),
                        token_users={"bob": "Tok-Pass-" + os.urandom(6).hex()}) as reg:
        yield reg


@pytest.fixture
def proxy_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyPair]:
    """A plain upstream registry and a pull-through cache registry in front of it."""
    with start_registry(tmp_path_factory.mktemp("upstream")) as up, \
            start_registry(tmp_path_factory.mktemp("proxy"), proxy_of=up) as px:
        yield ProxyPair(up, px)
