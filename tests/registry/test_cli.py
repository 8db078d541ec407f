"""The CLI end to end (real processes), and a grep of everything it printed and wrote for the password."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.registry import Registry, push_test_image, skopeo_inspect_raw


def sealer(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sealer.cli.main", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120, check=False)


def test_cli_login_push_pull_and_no_secret_leaks(tls_registry: Registry, tmp_path: Path) -> None:
    reg = tls_registry
    assert reg.password and reg.ca
    img = push_test_image(reg, "cli/app:v1", [50_000], platforms=["linux/amd64", "linux/arm64"])
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"),
           "SEALER_ROOT": str(tmp_path / "root")}
    env.pop("REGISTRY_AUTH_FILE", None)
    tls = ["--ca-cert", str(reg.ca.cert)]
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        p = sealer(*args, env=env, stdin=stdin)
        outputs.extend([p.stdout, p.stderr])
        assert (p.returncode == 0) == ok, (args, p.stdout, p.stderr)
        return p

    bad = run("login", reg.host, "-u", "alice", "--password-stdin", *tls, stdin="wrong-pass\n", ok=False)
    assert "refused" in bad.stderr and "Traceback" not in bad.stderr
    assert not (home / ".docker" / "config.json").exists()
    run("pull", reg.ref("cli/app:v1"), *tls, ok=False)  # not logged in yet
    run("login", reg.host, "-u", "alice", "--password-stdin", *tls, stdin=reg.password + "\n")
    cfg = home / ".docker" / "config.json"
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    assert json.loads(cfg.read_text())["auths"][reg.host]["auth"]
    p = run("pull", reg.ref("cli/app:v1"), "--platform", "linux/arm64", "--json", *tls)
    doc = json.loads(p.stdout)
    assert doc["digest"] == img.for_platform("linux/arm64").digest and doc["platform"] == "linux/arm64"
    run("pull", reg.ref("cli/app:v1"), "--all-platforms", "-q", *tls)
    p = run("push", reg.ref("cli/app:v1"), reg.ref("cli/pushed:v1"), "--json", *tls)
    assert json.loads(p.stdout)["digest"] == img.digest
    assert skopeo_inspect_raw(reg, "cli/pushed:v1") == img.raw
    run("--debug", "pull", reg.ref("cli/missing:v1"), *tls, ok=False)  # tracebacks must not leak it either
    run("logout", reg.host)
    assert reg.host not in json.loads(cfg.read_text())["auths"]

    # the secret appears nowhere: not in any output, not in any file (config.json held only base64 and is
    # now without it), not in the store
    secret = reg.password
    b64 = base64.b64encode(f"alice:{secret}".encode()).decode()
    for text in outputs:
        assert secret not in text and b64 not in text
    for f in list(home.rglob("*")) + list((tmp_path / "root").rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            assert secret.encode() not in data, f
            assert b64.encode() not in data, f


def test_cli_password_flag_and_helpful_errors(registry: Registry, tmp_path: Path) -> None:
    env = {**os.environ, "SEALER_ROOT": str(tmp_path / "root"), "REGISTRY_AUTH_FILE": str(tmp_path / "a.json")}
    p = sealer("login", registry.host, "-u", "u", "-p", "x", env=env)
    assert p.returncode == 0, p.stderr  # an open registry accepts any login
    p = sealer("pull", "not a ref", env=env)
    assert p.returncode != 0 and "parse reference" in p.stderr
    p = sealer("pull", registry.ref("x/y:1"), "--platform", "linux/arm64", "--all-platforms", env=env)
    assert p.returncode != 0 and "mutually exclusive" in p.stderr
