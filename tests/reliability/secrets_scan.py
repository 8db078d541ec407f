"""Secrets never leak: log in to a real htpasswd+TLS registry, then pull, build (caching a private image), inspect,
push, find-images, a credential helper, and error paths with wrong passwords; then grep every byte sealer
printed, every file under the store root (gzip blobs decompressed) and under HOME (except the credentials
file itself) for the password, its base64 ``user:password`` form and the wrong passwords.

The password of an upstream in ``registry_config.yaml`` is part of the image by design (the file is copied
into the rootfs for delivery), so it is searched for only in what sealer prints and in non-layer blobs
(manifests, configs: ``inspect`` and the history).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import stat
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from helpers.registry import Registry, push_test_image, start_registry

SEALER = [sys.executable, "-m", "sealer.cli.main"]


@dataclass
class SecretsReport:
    commands: int = 0
    bytes_scanned: int = 0
    files_scanned: int = 0
    hits: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)    # steps that should have succeeded / failed but did not
    config_mode: int = 0


def _read_maybe_gzip(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return data
    return data


def _is_layer_blob(root: Path, hexd: str) -> bool:
    """True when some stored manifest lists this blob as a layer."""
    for p in (root / "blobs" / "sha256").iterdir():
        try:
            doc = json.loads(p.read_bytes()[:16 << 20])
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and any(isinstance(layer, dict) and layer.get("digest") == f"sha256:{hexd}"
                                         for layer in doc.get("layers") or []):
            return True
    return False


def run_secrets_scan(workdir: Path, reg: Registry | None = None) -> SecretsReport:
    own = reg is None
    if reg is None:
        reg = start_registry(workdir / "registry", tls=True, htpasswd=("alice", "Login-Pass-" + os.urandom(8).hex()))
    try:
        return _scan(workdir, reg)
    finally:
        if own:
            reg.stop()


def _scan(workdir: Path, reg: Registry) -> SecretsReport:
    assert reg.password and reg.ca
    rep = SecretsReport()
    password = reg.password
    wrong = "Wrong-Pass-" + os.urandom(8).hex()
    helper_secret = "Helper-Pass-" + os.urandom(8).hex()
    rcfg_secret = "Rcfg-Pass-" + os.urandom(8).hex()
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    everywhere = [password, basic, wrong, helper_secret]
    printed: list[bytes] = []

    home = workdir / "home"
    root = workdir / "store"
    bindir = workdir / "bin"
    for d in (home, root, bindir):
        d.mkdir(parents=True, exist_ok=True)
    ca = str(reg.ca.cert)
    env = dict(os.environ, HOME=str(home), DOCKER_CONFIG=str(home / ".docker"), SEALER_ROOT=str(root),
               SEALER_REGISTRIES_CONF=str(home / "none.conf"), PATH=f"{bindir}:{os.environ.get('PATH', '')}")
    env.pop("REGISTRY_AUTH_FILE", None)
    (home / "none.conf").write_text("# no mirrors\n")

    def sealer(*args: str, ok: bool | None = True, stdin: str | None = None,
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        p = subprocess.run([*SEALER, *args], env={**env, **(extra_env or {})}, capture_output=True,
                           input=stdin.encode() if stdin is not None else None, timeout=300, check=False)
        rep.commands += 1
        printed.append(p.stdout + p.stderr)
        if ok is True and p.returncode != 0:
            rep.failures.append(f"sealer {' '.join(args)} failed: {p.stderr.decode(errors='replace')[-400:]}")
        if ok is False and p.returncode == 0:
            rep.failures.append(f"sealer {' '.join(args)} should have failed")
        if b"Traceback" in p.stderr and "--debug" not in args:
            rep.failures.append(f"sealer {' '.join(args)}: traceback")
        return p

    host = reg.host
    push_test_image(reg, "priv/app:v1", [200_000, 50_000])
    push_test_image(reg, "priv/other:v1", [100_000], seed=99)

    # login: wrong password (also with --debug), then the right one
    sealer("login", host, "-u", "alice", "--password-stdin", "--ca-cert", ca, ok=False, stdin=wrong + "\n")
    sealer("--debug", "login", host, "-u", "alice", "-p", wrong, "--ca-cert", ca, ok=False)
    sealer("login", host, "-u", "alice", "--password-stdin", "--ca-cert", ca, stdin=password + "\n")
    cfg = home / ".docker" / "config.json"
    rep.config_mode = stat.S_IMODE(cfg.stat().st_mode) if cfg.exists() else -1

    # pull, build that caches the private image, inspect, images, push, find-images
    sealer("pull", f"{host}/priv/app:v1", "--ca-cert", ca)
    ctx = workdir / "ctx"
    (ctx / "manifests").mkdir(parents=True, exist_ok=True)
    (ctx / "manifests" / "imageList").write_text(f"{host}/priv/app:v1\n")
    (ctx / "registry_config.yaml").write_text(
        "proxy:\n  remoteregistries:\n    - url: https://quay.io\n      username: robot\n"
        f"      password: {rcfg_secret}\n")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY registry_config.yaml etc/\nCOPY manifests .\n"
                                  "CMD echo up\n")
    sealer("build", "-b", "lite", "-t", "sec:v1", "--ca-cert", ca, str(ctx))
    sealer("--debug", "build", "-b", "lite", "-t", "sec:v2", "--no-cache", "--ca-cert", ca, str(ctx))
    sealer("inspect", "sec:v1")
    if b"priv/app" not in sealer("inspect", "--json", "sec:v1").stdout:
        rep.failures.append("the build did not cache the private image (credentials were not exercised)")
    sealer("images")
    sealer("registry-proxy-config", "sec:v1", ok=None)
    sealer("push", "sec:v1", f"{host}/out/sec:v1", "--ca-cert", ca)
    sealer("find-images", str(ctx))
    sealer("--debug", "pull", f"{host}/priv/missing:v9", "--ca-cert", ca, ok=False)

    # a credential helper (docker-credential-*) holds another password
    helper = bindir / "docker-credential-sealtest"
    helper.write_text("#!/bin/sh\nread server\n"
                      f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"{helper_secret}\"}}' "
                      "\"$server\"\n")
    helper.chmod(0o755)
    helper_auth = workdir / "helper-auth.json"
    helper_auth.write_text(json.dumps({"credHelpers": {host: "sealtest"}}))
    sealer("pull", f"{host}/priv/app:v1", "--ca-cert", ca, "--authfile", str(helper_auth), ok=False)
    sealer("--debug", "pull", f"{host}/priv/app:v1", "--ca-cert", ca, "--authfile", str(helper_auth), ok=False)

    # error paths with a wrong password stored in an auth file
    wrong_auth = workdir / "wrong-auth.json"
    wrong_auth.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(f"alice:{wrong}".encode()).decode()}}}))
    sealer("pull", f"{host}/priv/app:v1", "--ca-cert", ca, "--authfile", str(wrong_auth), ok=False)
    sealer("--debug", "push", "sec:v1", f"{host}/out/sec:v2", "--ca-cert", ca, "--authfile", str(wrong_auth),
           ok=False)
    ctx2 = workdir / "ctx2"
    (ctx2 / "manifests").mkdir(parents=True, exist_ok=True)
    (ctx2 / "manifests" / "imageList").write_text(f"{host}/priv/other:v1\n")
    (ctx2 / "Kubefile").write_text("FROM scratch\nCOPY manifests .\n")
    sealer("build", "-b", "lite", "-t", "sec:v3", "--ca-cert", ca, "--authfile", str(wrong_auth), str(ctx2),
           ok=False)
    sealer("--debug", "build", "-b", "lite", "-t", "sec:v3", "--ca-cert", ca, "--authfile", str(wrong_auth),
           str(ctx2), ok=False)
    sealer("logout", host)

    # scan: what sealer printed
    for i, out in enumerate(printed):
        rep.bytes_scanned += len(out)
        for s in [*everywhere, rcfg_secret]:
            if s.encode() in out:
                rep.hits.append(f"command #{i} printed {s[:10]}...")
    # every file under the store (layers decompressed) and HOME (but the credentials file itself)
    for base in (root, home):
        for dirpath, _, files in os.walk(base):
            for f in files:
                p = Path(dirpath) / f
                if p == cfg or p.is_symlink():
                    continue
                data = _read_maybe_gzip(p)
                rep.files_scanned += 1
                rep.bytes_scanned += len(data)
                for s in everywhere:
                    if s.encode() in data:
                        rep.hits.append(f"{p} holds {s[:10]}...")
                if rcfg_secret.encode() in data and not (base == root and _is_layer_blob(root, p.name)):
                    rep.hits.append(f"{p} holds the registry_config.yaml password (not a layer)")
    return rep
