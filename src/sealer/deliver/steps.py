"""The remote side of each phase: the commands and files sealer's contract prescribes (docs/delivery.md).

Multi-line scripts go to ``bash -s`` on stdin, so nothing of them shows in the host's process list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from shlex import quote
from typing import Any

from sealer.deliver.plan import MARK, HostPaths

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KUBECONFIG = "/etc/kubernetes/admin.conf"
CERTS_D = "/etc/containerd/certs.d"
DOCKER_DAEMON = "/etc/docker/daemon.json"


def mark(cluster: str) -> str:
    return f"{MARK}:{cluster}"


def env_exports(env: Mapping[str, str]) -> str:
    """``export K='v' ...;`` for the keys that are shell names (others are skipped)."""
    items = [f"{k}={quote(v)}" for k, v in env.items() if _ENV_KEY.match(k)]
    return f"export {' '.join(items)}; " if items else ""


def init_script(paths: HostPaths, domain: str, port: int, env: Mapping[str, str]) -> str:
    """sealer's ``cd ROOTFS && chmod +x scripts/* && cd scripts && bash init.sh`` with the registry args
    the official scripts read (``REGISTRY_DOMAIN=${2-sea.hub} REGISTRY_PORT=${3-5000}``)."""
    r = quote(paths.rootfs)
    return (f"set -e\n{env_exports(env)}\ncd {r}\nchmod +x scripts/* 2>/dev/null || true\ncd scripts\n"
            f"bash init.sh /var/lib/docker {quote(domain)} {port or quote('')}\n")


def hosts_script(cluster: str, entries: list[tuple[str, str]]) -> str:
    """Replace our lines in /etc/hosts (tagged ``# sealer-py:<cluster>``) in place: /etc/hosts may be a bind
    mount, so it is rewritten through the same inode (no rename)."""
    tag = mark(cluster)
    lines = "".join(f"{ip} {name} # {tag}\n" for ip, name in entries)
    return (f"set -e\nT=$(mktemp)\ngrep -v -F {quote('# ' + tag)} /etc/hosts > \"$T\" || true\n"
            f"printf %s {quote(lines)} >> \"$T\"\ncat \"$T\" > /etc/hosts\nrm -f \"$T\"\n")


def unhosts_script(cluster: str) -> str:
    tag = mark(cluster)
    return (f"if grep -q -F {quote('# ' + tag)} /etc/hosts 2>/dev/null; then T=$(mktemp); "
            f"grep -v -F {quote('# ' + tag)} /etc/hosts > \"$T\" || true; cat \"$T\" > /etc/hosts; rm -f \"$T\"; fi\n")


def registry_config(rootfs: str, addr: str) -> str:
    cfg: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": f"{rootfs}/registry"}, "maintenance": {
            "uploadpurging": {"enabled": False}, "readonly": {"enabled": False}}},
        "http": {"addr": addr},
    }
    return json.dumps(cfg, indent=1)  # JSON is YAML


def start_daemon_script(name: str, workdir: str, command: str, wait_addr: tuple[str, int]) -> str:
    """Start ``command`` detached (setsid nohup), its PID in ``workdir/<name>.pid``; restart if already running;
    wait until it accepts TCP on ``wait_addr``."""
    w = quote(workdir)
    ip, port = wait_addr
    return f"""set -e
mkdir -p {w}
cd {w}
if [ -f {name}.pid ] && kill -0 "$(cat {name}.pid)" 2>/dev/null; then
  kill "$(cat {name}.pid)"; for i in $(seq 50); do kill -0 "$(cat {name}.pid)" 2>/dev/null || break; sleep 0.1; done
fi
setsid nohup {command} > {name}.log 2>&1 < /dev/null &
echo $! > {name}.pid
for i in $(seq 200); do
  if (exec 3<>/dev/tcp/{ip}/{port}) 2>/dev/null; then exit 0; fi
  kill -0 "$(cat {name}.pid)" 2>/dev/null || break
  sleep 0.05
done
echo "{name} did not start listening on {ip}:{port}:" >&2
tail -n 20 {name}.log >&2
exit 1
"""


def registry_binary(rootfs: str) -> str:
    """The image's own ``bin/registry`` when it ships one, else the host's docker-distribution."""
    r = quote(rootfs)
    return (f"$(if [ -x {r}/bin/registry ]; then echo {r}/bin/registry; "
            "else command -v docker-registry || command -v registry || echo docker-registry; fi)")


def hosts_toml(cluster: str, server: str, mirrors: list[str]) -> str:
    out = [f"# {mark(cluster)}: written by sealer-py, removed by `sealer delete`", f"server = {json.dumps(server)}", ""]
    for m in mirrors:
        out += [f"[host.{json.dumps(m)}]", '  capabilities = ["pull", "resolve"]', ""]
    return "\n".join(out)


def upstream_server(domain: str, registry: str) -> str:
    if domain == registry:
        return f"http://{domain}"
    if domain == "docker.io":
        return "https://registry-1.docker.io"
    return f"https://{domain}"


def mirror_script(cluster: str, files: Mapping[str, str]) -> str:
    """Write ``certs.d/<domain>/hosts.toml``; a file that is not ours is kept as ``hosts.toml.sealer-py.orig``."""
    tag = mark(cluster)
    parts = ["set -e"]
    for domain, text in files.items():
        d = quote(f"{CERTS_D}/{domain}")
        parts.append(
            f"mkdir -p {d}\n"
            f"if [ -f {d}/hosts.toml ] && ! head -n1 {d}/hosts.toml | grep -q -F {quote(tag)}; then "
            f"mv {d}/hosts.toml {d}/hosts.toml.{MARK}.orig; fi\n"
            f"printf %s {quote(text)} > {d}/hosts.toml")
    return "\n".join(parts) + "\n"


def unmirror_script(cluster: str) -> str:
    tag = mark(cluster)
    return f"""for f in {CERTS_D}/*/hosts.toml; do
  [ -f "$f" ] || continue
  if head -n1 "$f" | grep -q -F {quote(tag)}; then
    rm -f "$f"
    d=$(dirname "$f")
    if [ -f "$d/hosts.toml.{MARK}.orig" ]; then mv "$d/hosts.toml.{MARK}.orig" "$f"; fi
    rmdir "$d" 2>/dev/null || true
  fi
done
"""


def docker_daemon_merge(current: bytes | None, mirror: str, registry: str) -> tuple[bytes, bool]:
    """daemon.json with ``registry-mirrors`` and ``insecure-registries`` holding our registry; (text, changed)."""
    try:
        doc = json.loads(current) if current else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    changed = False
    for key, value in (("registry-mirrors", mirror), ("insecure-registries", registry)):
        got = doc.get(key)
        cur: list[Any] = got if isinstance(got, list) else []
        if value not in cur:
            doc[key] = [*cur, value]
            changed = True
    return (json.dumps(doc, indent=2) + "\n").encode(), changed


def run_in_rootfs(paths: HostPaths, command: str, env: Mapping[str, str], *, kubeconfig: bool = True) -> str:
    """``command`` in the rootfs, the image's ``bin/`` first on PATH (and the cluster's kubeconfig)."""
    kc = f" KUBECONFIG={KUBECONFIG}" if kubeconfig else ""
    r = quote(paths.rootfs)
    return f"{env_exports(env)}export PATH={r}/bin:\"$PATH\"{kc}; cd {r} && {command}"


def cmds_script(paths: HostPaths, cmds: list[str], env: Mapping[str, str]) -> str:
    """The image's CMDs in order, each in the rootfs with ``bin/`` first on PATH and KUBECONFIG set; the first
    failing one stops the rest and is named."""
    lines = [run_in_rootfs(paths, "true", env)]
    for i, cmd in enumerate(cmds, 1):
        lines.append(f"( eval {quote(cmd)} ) || {{ rc=$?; echo {quote(f'CMD {i} failed: {cmd}')} >&2; exit $rc; }}")
    return "\n".join(lines) + "\n"


_TOKEN = re.compile(r"--token\s+(\S+)")
_HASH = re.compile(r"--discovery-token-ca-cert-hash\s+(sha256:[0-9a-f]{64})")
_CERT_KEY = re.compile(r"--certificate-key\s+([0-9a-f]{64})")


def parse_join(output: str) -> dict[str, str] | None:
    """Token, CA hash (and certificate key) from ``kubeadm init``'s printed join command (as sealer's
    ``decodeJoinCmd`` does); None when they are not there."""
    text = output.replace("\\\n", " ")
    t, h = _TOKEN.search(text), _HASH.search(text)
    if t is None or h is None:
        return None
    got = {"token": t.group(1), "caCertHash": h.group(1)}
    k = _CERT_KEY.search(text)
    if k is not None:
        got["certificateKey"] = k.group(1)
    return got


# ---- several phases in one remote session ------------------------------------------------------------------
SESSION_TAG = "@@sealer-py-phase "
STATE_SEP = "@@sealer-py-state"


def read_state_script(files: list[str]) -> str:
    """Print each file (empty when missing) after a separator line: the markers and the manifest in the
    connect round trip."""
    return "".join(f"echo {STATE_SEP}; cat {quote(f)} 2>/dev/null || true\n" for f in files)


def parse_state(stdout: str, count: int) -> list[str]:
    parts = stdout.split(STATE_SEP + "\n")[1:]
    return [*parts, *([""] * (count - len(parts)))][:count]


def write_file_lines(path: str, data: bytes, mode: int) -> str:
    """Write ``path`` atomically (temporary file in its directory + rename), parents created."""
    import base64
    import posixpath
    import secrets

    parent = posixpath.dirname(path) or "/"
    tmp = posixpath.join(parent, f".{posixpath.basename(path)}.tmp-{secrets.token_hex(4)}")
    b64 = base64.b64encode(data).decode()
    return (f"mkdir -p {quote(parent)}\n(umask 077; printf %s {quote(b64)} | base64 -d > {quote(tmp)})\n"
            f"chmod {mode:o} {quote(tmp)}\nmv -f {quote(tmp)} {quote(path)}\n")


def session_step(index: int, files: list[tuple[str, bytes, int]], script: str, marker: tuple[str, bytes] | None,
                 last: bool) -> str:
    """One phase inside a session: announce it (stdout and stderr), write its files and run its script in a
    subshell (``set -e``, stdin closed), then write the phase markers (atomically, only after the work
    succeeded), announce it done and wait for the client's ``go`` before the next phase: the client records
    the phase first, and a client that went away (Ctrl-C, lost connection) stops the session there."""
    body = "set -e\n" + "".join(write_file_lines(p, d, m) for p, d, m in files) + script
    out = [f"echo '{SESSION_TAG}start {index}'; echo '{SESSION_TAG}start {index}' >&2\n",
           f"( eval {quote(body)} ) < /dev/null\n",
           "rc=$?; if [ $rc -ne 0 ]; then exit $rc; fi\n"]
    if marker is not None:
        out.append("( set -e\n" + write_file_lines(marker[0], marker[1], 0o600) + ") || exit 96\n")
    out.append(f"echo '{SESSION_TAG}done {index}'\n")
    if not last:
        out.append('IFS= read -r _ack || exit 98; [ "$_ack" = go ] || exit 98\n')
    return "".join(out)
