"""Pure parts: WWW-Authenticate parsing, registries.conf, credentials files and helpers, references."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sealer import reference
from sealer.errors import ReferenceError_, RegistryError
from sealer.registry.auth import parse_www_authenticate
from sealer.registry.credentials import Credential, erase_credential, get_credential, store_credential
from sealer.registry.mirrors import RegistriesConf


@pytest.mark.parametrize("text,want", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("library/nginx:1.25", "docker.io/library/nginx:1.25"),
    ("index.docker.io/foo/bar", "docker.io/foo/bar:latest"),
    ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1"),
    ("127.0.0.1:5000/ns/name@sha256:" + "a" * 64, "127.0.0.1:5000/ns/name@sha256:" + "a" * 64),
    ("reg.example/x:t@sha256:" + "b" * 64, "reg.example/x:t@sha256:" + "b" * 64),
])
def test_reference_normalisation(text: str, want: str) -> None:
    assert str(reference.parse(text)) == want


@pytest.mark.parametrize("bad", ["", "NGINX", "a b", "x@sha256:123", "host:5000/", "x:-bad", "a//b"])
def test_bad_references_are_refused(bad: str) -> None:
    with pytest.raises(ReferenceError_, match="parse"):
        reference.parse(bad)


def test_parse_bearer_challenge_with_commas_in_scope() -> None:
    [ch] = parse_www_authenticate(
        'Bearer realm="https://auth.example/token",service="reg.example",'
        'scope="repository:a/b:pull,push repository:c:pull"')
    assert ch.scheme == "bearer"
    assert ch.realm == "https://auth.example/token"
    assert ch.service == "reg.example"
    assert ch.scopes == ("repository:a/b:pull,push", "repository:c:pull")


def test_parse_several_challenges() -> None:
    chs = parse_www_authenticate('Basic realm="r\\"x", Bearer realm="https://t/x",service=s')
    assert [c.scheme for c in chs] == ["basic", "bearer"]
    assert chs[0].realm == 'r"x'
    assert chs[1].service == "s"


def test_credential_repr_is_redacted() -> None:
    c = Credential("alice", "hunter2-secret")
    assert "hunter2" not in repr(c) and "hunter2" not in str(c) and "hunter2" not in f"{[c]}"


def test_auth_file_roundtrip_mode_0600(tmp_path: Path) -> None:
    f = tmp_path / "d" / "config.json"
    f.parent.mkdir()
    f.write_text(json.dumps({"auths": {"other.example": {"auth": base64.b64encode(b"o:p").decode()}},
                             "HttpHeaders": {"X": "y"}}))
    store_credential("reg.example:5000", Credential("alice", "pw"), f)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    doc = json.loads(f.read_text())
    assert doc["HttpHeaders"] == {"X": "y"} and "other.example" in doc["auths"]
    assert get_credential("reg.example:5000", f) == Credential("alice", "pw")
    store_credential("docker.io", Credential("bob", "pw2"), f)
    assert "https://index.docker.io/v1/" in json.loads(f.read_text())["auths"]
    assert get_credential("docker.io", f) == Credential("bob", "pw2")
    assert erase_credential("reg.example:5000", f)
    assert get_credential("reg.example:5000", f) is None
    assert not erase_credential("reg.example:5000", f)


def test_auth_file_library_default_reads_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sealer.registry.credentials import auth_file_path

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "a.json"))   # the CLI's business (cli/settings.py)
    assert auth_file_path() == tmp_path / "home" / ".docker" / "config.json"
    assert auth_file_path(tmp_path / "x.json") == tmp_path / "x.json"


def write_helper(bindir: Path, name: str, store: Path) -> Path:
    """A docker-credential-NAME program (the documented get/store/erase protocol) keeping a JSON file."""
    bindir.mkdir(parents=True, exist_ok=True)
    prog = bindir / f"docker-credential-{name}"
    prog.write_text(f"""#!{sys.executable}
import json, sys
path = {str(store)!r}
try:
    db = json.load(open(path))
except FileNotFoundError:
    db = {{}}
action, data = sys.argv[1], sys.stdin.read()
if action == "store":
    doc = json.loads(data); db[doc["ServerURL"]] = [doc["Username"], doc["Secret"]]
    json.dump(db, open(path, "w"))
elif action == "get":
    key = data.strip()
    if key not in db:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps({{"ServerURL": key, "Username": db[key][0], "Secret": db[key][1]}}))
elif action == "erase":
    db.pop(data.strip(), None); json.dump(db, open(path, "w"))
""")
    prog.chmod(0o755)
    return prog


def test_credential_helper_store_get_erase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_helper(tmp_path / "bin", "sealertest", tmp_path / "db.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credsStore": "sealertest"}))
    store_credential("reg.example", Credential("carol", "helper-secret"), cfg)
    assert "helper-secret" not in cfg.read_text()
    assert json.loads((tmp_path / "db.json").read_text())["reg.example"] == ["carol", "helper-secret"]
    assert get_credential("reg.example", cfg) == Credential("carol", "helper-secret")
    assert get_credential("nothing.example", cfg) is None
    assert erase_credential("reg.example", cfg)
    assert get_credential("reg.example", cfg) is None


def test_cred_helpers_per_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_helper(tmp_path / "bin", "one", tmp_path / "one.json")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "one.json").write_text(json.dumps({"a.example": ["u", "p"]}))
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {"a.example": "one"},
                               "auths": {"b.example": {"auth": base64.b64encode(b"x:y").decode()}}}))
    assert get_credential("a.example", cfg) == Credential("u", "p")
    assert get_credential("b.example", cfg) == Credential("x", "y")


def test_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credsStore": "does-not-exist-anywhere"}))
    with pytest.raises(RegistryError, match="docker-credential-does-not-exist-anywhere: not found"):
        get_credential("reg.example", cfg)


CONF = """
[[registry]]
prefix = "docker.io"
location = "docker.io"
  [[registry.mirror]]
  location = "127.0.0.1:5001/hub"
  insecure = true
  [[registry.mirror]]
  location = "mirror.example/dh"
  pull-from-mirror = "digest-only"

[[registry]]
prefix = "docker.io/library/special"
location = "other.example/special"

[[registry]]
location = "*.corp.example"
blocked = true
"""


def test_registries_conf_sources(tmp_path: Path) -> None:
    f = tmp_path / "registries.conf"
    f.write_text(CONF)
    conf = RegistriesConf.load(f)
    srcs = conf.sources(reference.parse("nginx:1"))
    assert [str(s.ref) for s in srcs] == ["127.0.0.1:5001/hub/library/nginx:1", "docker.io/library/nginx:1"]
    assert srcs[0].insecure and srcs[0].mirror and not srcs[1].mirror
    dref = reference.parse("nginx@sha256:" + "c" * 64)
    assert [s.ref.repository for s in conf.sources(dref)] == [
        "127.0.0.1:5001/hub/library/nginx", "mirror.example/dh/library/nginx", "docker.io/library/nginx"]
    # longest prefix wins and may rewrite the origin
    assert [str(s.ref) for s in conf.sources(reference.parse("special:v"))] == ["other.example/special:v"]
    assert [str(s.ref) for s in conf.sources(reference.parse("quay.io/a/b:1"))] == ["quay.io/a/b:1"]
    with pytest.raises(RegistryError, match="blocked"):
        conf.sources(reference.parse("x.corp.example/a:1"))


def test_registries_conf_errors(tmp_path: Path) -> None:
    f = tmp_path / "bad.conf"
    f.write_text("[[registry]\nlocation=")
    with pytest.raises(RegistryError, match=r"read registries file .*bad.conf"):
        RegistriesConf.load(f)
    with pytest.raises(RegistryError, match="not found"):
        RegistriesConf.load(tmp_path / "missing.conf")
