"""Credentials for the image's registry (``sea.hub:5000``) at delivery: sealer v0.9's
``spec.registry.localRegistry.username/password`` (docs/delivery.md, "Registry credentials and TLS").

* master0: ``<rootfs>/etc/registry_htpasswd`` (sealer's ``DefaultRegistryHtPasswdFile``, mode 0600) holding
  ``user:<bcrypt>`` only, computed here (the password never reaches a remote command line); the stock
  docker-distribution gets ``auth.htpasswd`` pointing at it, an image's own ``init-registry.sh`` finds it
  where sealer puts it. The entry is kept in the local cluster state (``~/.sealer/<cluster>/registry_htpasswd``,
  0600) and reused while it still matches the password, so a re-apply writes the same bytes (same phase key).
* every host: the container runtime gets the credentials for ``<domain>:<port>`` only (never for the
  upstream registries it mirrors): containerd's CRI ``registry.configs."<domain>:<port>".auth`` block in
  ``/etc/containerd/config.toml`` (``certs.d`` hosts.toml cannot hold credentials; the file becomes 0600 —
  its mode before is kept beside it and put back when the block goes — and containerd is restarted when the
  block changed), kubelet's ``/var/lib/kubelet/config.json`` (what sealer
  v0.9 writes, ``configureAccessCredential``) and, with the docker runtime, ``/root/.docker/config.json``.
  Every block and file carries the ``sealer-py:<cluster>`` tag; a file that was not ours is kept as
  ``<file>.sealer-py.orig`` and put back by ``delete``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote
from typing import Any

from sealer.cluster.clusterfile import Cluster
from sealer.deliver.markers import inputs_hash
from sealer.deliver.plan import MARK, HostPaths

log = logging.getLogger(__name__)

HTPASSWD_NAME = "registry_htpasswd"  # sealer: <rootfs>/etc/registry_htpasswd
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_MODE = f"{CONTAINERD_CONFIG}.{MARK}.mode"  # its mode before the credentials made it 0600
KUBELET_AUTH = "/var/lib/kubelet/config.json"
DOCKER_AUTH = "/root/.docker/config.json"
BCRYPT_ROUNDS = 10


@dataclass(frozen=True)
class RegistryAuth:
    """What a delivery needs to protect the registry; ``password`` hidden from ``repr``."""

    username: str
    password: str = field(repr=False)
    htpasswd: str = field(repr=False)  # "user:$2b$..." (no newline)

    @property
    def key(self) -> str:
        """Changes when the user or the password changes; derived from the bcrypt entry (already on master0),
        never from the password itself."""
        return inputs_hash(self.username, self.htpasswd)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def prepare(state_root: Path, cluster: Cluster) -> RegistryAuth | None:
    """The registry credentials of ``cluster`` with their htpasswd entry (reused from the state dir while
    it verifies), or None when the Clusterfile sets none."""
    import bcrypt

    a = cluster.registry_access
    path = state_root / cluster.name / HTPASSWD_NAME
    if not a.has_credentials:
        path.unlink(missing_ok=True)
        return None
    assert a.username is not None and a.password is not None
    entry: str | None = None
    try:
        got = path.read_text(encoding="utf-8").strip()
    except OSError:
        got = ""
    user, _, hashed = got.partition(":")
    if user == a.username and hashed:
        try:
            if bcrypt.checkpw(a.password.encode(), hashed.encode()):
                entry = got
        except ValueError:
            entry = None
    if entry is None:
        hashed_b = bcrypt.hashpw(a.password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))
        entry = f"{a.username}:{hashed_b.decode()}"
        _write_private(path, (entry + "\n").encode())
        log.info("registry htpasswd entry for %s generated (bcrypt)", a.username)
    return RegistryAuth(a.username, a.password, entry)


def forget(state_root: Path, name: str) -> None:
    (state_root / name / HTPASSWD_NAME).unlink(missing_ok=True)


def htpasswd_path(paths: HostPaths) -> str:
    return f"{paths.rootfs}/etc/{HTPASSWD_NAME}"


def registry_config_with_auth(config_text: str, htpasswd: str) -> str:
    """The stock registry's config (JSON is YAML) with ``auth.htpasswd``."""
    cfg: dict[str, Any] = json.loads(config_text)
    cfg["auth"] = {"htpasswd": {"realm": "sealer-registry", "path": htpasswd}}
    return json.dumps(cfg, indent=1)


def registry_files(auth: RegistryAuth, paths: HostPaths) -> list[tuple[str, bytes, int]]:
    return [(htpasswd_path(paths), (auth.htpasswd + "\n").encode(), 0o600)]


def stale_files_script(plan: Any, rootfs: Path) -> str:
    """``rm -f`` of the htpasswd / certificate files of an earlier delivery that the Clusterfile no longer asks
    for (kept when the image ships them itself), so an image's own init-registry.sh does not pick them up."""
    paths: HostPaths = plan.paths
    domain = plan.cluster.registry_domain
    stale = []
    if plan.auth is None and not (rootfs / "etc" / HTPASSWD_NAME).exists():
        stale.append(htpasswd_path(paths))
    if plan.tls is None:
        for ext in ("crt", "key"):
            if not (rootfs / "certs" / f"{domain}.{ext}").exists():
                stale.append(f"{paths.rootfs}/certs/{domain}.{ext}")
    return f"rm -f {' '.join(quote(p) for p in stale)}\n" if stale else ""


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a TOML basic string (\" \\ \uXXXX)


def _tag(cluster: str) -> str:
    return f"{MARK}:{cluster}"


def _all(registry: str, proxies: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([registry, *proxies]))


def containerd_block(cluster: str, registry: str, auth: RegistryAuth, proxies: Sequence[str] = ()) -> str:
    """The CRI ``registry.configs.<host>.auth`` tables for the registry and each pull-through proxy (``proxies``,
    ``sea.hub:5001``…: master0's other registries, protected with the same htpasswd)."""
    t = _tag(cluster)
    tables = "".join(f'[plugins."io.containerd.grpc.v1.cri".registry.configs.{_toml_str(r)}.auth]\n'
                     f"  username = {_toml_str(auth.username)}\n  password = {_toml_str(auth.password)}\n"
                     for r in _all(registry, proxies))
    return (f"# {t} registry auth begin (written by sealer-py, removed by `sealer delete`)\n"
            f"{tables}# {t} registry auth end\n")


def auth_json(cluster: str, registry: str, auth: RegistryAuth, proxies: Sequence[str] = ()) -> str:
    """A docker ``config.json`` (kubelet reads the same format) with the Basic credentials of the registry and
    its proxies only."""
    token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
    auths = {r: {"auth": token} for r in _all(registry, proxies)}
    return json.dumps({"auths": auths, MARK: cluster}, indent=1) + "\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Restart a running containerd so it reads config.toml again: systemd's unit when systemd runs it, else the
# containerd process of this mount namespace, started again with its own command line (any pid file that held
# its PID gets the new one, so the base image's clean.sh still finds it).
RESTART_CONTAINERD = r"""
restart_containerd() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active -q containerd; then
    systemctl restart containerd; return
  fi
  local me pid p out cmdf pf new
  me=$(readlink /proc/self/ns/mnt)
  pid=
  for p in /proc/[0-9]*; do
    [ "$(cat $p/comm 2>/dev/null)" = containerd ] || continue
    if [ "$(readlink $p/ns/mnt 2>/dev/null)" = "$me" ]; then pid=${p#/proc/}; break; fi
  done
  [ -n "$pid" ] || return 0   # not running: it reads the file when it starts
  out=$(readlink /proc/$pid/fd/1 2>/dev/null || true); [ -f "$out" ] || out=/dev/null
  cmdf=$(mktemp); cp /proc/$pid/cmdline "$cmdf"
  pf=$(grep -lx "$pid" /run/containerd/*.pid /run/*.pid /var/run/*.pid 2>/dev/null || true)
  kill "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  mapfile -d '' -t args < "$cmdf"; rm -f "$cmdf"
  setsid nohup "${args[@]}" >> "$out" 2>&1 < /dev/null &
  new=$!
  for p in $pf; do echo "$new" > "$p"; done
  for i in $(seq 100); do ctr version >/dev/null 2>&1 && return 0; kill -0 "$new" 2>/dev/null || break; sleep 0.1; done
  echo "containerd did not come back after its registry credentials were added" >&2; return 1
}
"""


def _json_file_script(cluster: str, path: str, text: str) -> str:
    """Write a credentials JSON file (0600); a file there that is not ours is kept as ``.sealer-py.orig``."""
    p = quote(path)
    tag = quote(f'"{MARK}": "{cluster}"')
    return (f"mkdir -p $(dirname {p})\n"
            f"if [ -f {p} ] && ! grep -q -F {tag} {p}; then mv {p} {p}.{MARK}.orig; fi\n"
            f"(umask 077; printf %s {quote(_b64(text))} | base64 -d > {p}.tmp)\nchmod 600 {p}.tmp\nmv -f {p}.tmp {p}\n")


def host_script(cluster: Cluster, auth: RegistryAuth, *, containerd: bool, proxies: Sequence[str] = ()) -> str:
    """The credentials on one host (every file written from base64 inside the script, which goes on stdin), for
    the registry and its pull-through proxies (``proxies``)."""
    reg = cluster.registry
    js = auth_json(cluster.name, reg, auth, proxies)
    parts = ["set -e", _json_file_script(cluster.name, KUBELET_AUTH, js)]
    if cluster.runtime == "docker":
        parts.append(_json_file_script(cluster.name, DOCKER_AUTH, js))
    if containerd:
        t = _tag(cluster.name)
        cfg = quote(CONTAINERD_CONFIG)
        mode = quote(CONTAINERD_MODE)
        parts.append(RESTART_CONTAINERD)
        parts.append(
            f"if [ -f {cfg} ]; then\n"
            f"  [ -f {mode} ] || stat -c %a {cfg} > {mode}\n"   # the mode it had before we made it 0600
            f"  T=$(umask 077; mktemp)\n"
            f"  sed {quote(f'/# {t} registry auth begin/,/# {t} registry auth end/d')} {cfg} > \"$T\"\n"
            f"  printf %s {quote(_b64(containerd_block(cluster.name, reg, auth, proxies)))} | base64 -d >> \"$T\"\n"
            f"  if ! cmp -s \"$T\" {cfg}; then chmod 600 {cfg}; cat \"$T\" > {cfg}; rm -f \"$T\"; restart_containerd; "
            f"else rm -f \"$T\"; fi\n"
            f"  chmod 600 {cfg}\n"
            "else\n"
            f"  echo 'no {CONTAINERD_CONFIG}: containerd gets no registry credentials' >&2\n"
            "fi")
    return "\n".join(parts) + "\n"


def host_key(cluster: Cluster, auth: RegistryAuth, init_key: str = "", proxies: Sequence[str] = ()) -> str:
    """Changes with the credentials, the proxies and with the init phase (the image's init.sh may rewrite
    config.toml)."""
    return inputs_hash(auth.key, cluster.registry, cluster.runtime, init_key, "v1", *proxies)


def clean_script(cluster: str) -> str:
    """Undo :func:`host_script` (tolerant, no restart: the host is being reset)."""
    t = _tag(cluster)
    cfg = quote(CONTAINERD_CONFIG)
    tag = quote(f'"{MARK}": "{cluster}"')
    mode = quote(CONTAINERD_MODE)
    lines = [
        f"if [ -f {cfg} ] && grep -q -F {quote(f'# {t} registry auth begin')} {cfg}; then T=$(mktemp); "
        f"sed {quote(f'/# {t} registry auth begin/,/# {t} registry auth end/d')} {cfg} > \"$T\"; "
        f"cat \"$T\" > {cfg}; rm -f \"$T\"; fi",
        f"if [ -f {mode} ]; then M=$(cat {mode}); case \"$M\" in [0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) "
        f"[ -f {cfg} ] && chmod \"$M\" {cfg};; esac; rm -f {mode}; fi",
    ]
    for path in (KUBELET_AUTH, DOCKER_AUTH):
        p = quote(path)
        lines.append(f"if [ -f {p} ] && grep -q -F {tag} {p}; then rm -f {p}; "
                     f"if [ -f {p}.{MARK}.orig ]; then mv {p}.{MARK}.orig {p}; fi; fi")
    return "\n".join(lines) + "\n"
