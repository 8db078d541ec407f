"""The applied Clusterfile, kept locally: ``<state dir>/<cluster>/Clusterfile`` (mode 0600; it may hold
SSH passwords, so it is never logged) plus ``delivery.json`` (image, data root). The Clusterfile also keeps
what runs on master0 after kubeadm (``spec.cmd``/``spec.appNames``, from ``--cmds``/``--apps`` or the applied
Clusterfile), so ``join`` and a later ``apply`` that chooses nothing run the same lines.

The state dir is ``--state-dir``, else ``$SEALER_STATE_DIR``, else ``~/.sealer`` (sealer's place): the CLI's
settings decide (``Settings.state_dir_for``); the library is handed the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sealer.cluster.clusterfile import API_VERSION, SSH, Cluster, HostGroup, parse_clusterfile
from sealer.errors import SealerError


def state_dir(override: Path | None = None) -> Path:
    """``override``, else ``~/.sealer`` (the environment is the CLI's to read: it passes its setting here)."""
    return override if override is not None else Path.home() / ".sealer"


def _ssh_doc(ssh: SSH | None) -> dict[str, Any]:
    if ssh is None:
        return {}
    raw = {"user": ssh.user, "passwd": ssh.passwd, "pk": ssh.pk, "pkPasswd": ssh.pk_passwd, "port": ssh.port}
    return {k: v for k, v in raw.items() if v is not None}


def dump_cluster(c: Cluster) -> str:
    """A Clusterfile that :func:`parse_clusterfile` reads back as ``c``."""
    def group(g: HostGroup) -> dict[str, Any]:
        d: dict[str, Any] = {"ips": list(g.ips), "roles": list(g.roles)}
        if g.ssh is not None and _ssh_doc(g.ssh):
            d["ssh"] = _ssh_doc(g.ssh)
        if g.env:
            d["env"] = [f"{k}={v}" for k, v in g.env.items()]
        return d

    spec: dict[str, Any] = {}
    if c.image:
        spec["image"] = c.image
    if c.env:
        spec["env"] = [f"{k}={v}" for k, v in c.env.items()]
    if _ssh_doc(c.ssh):
        spec["ssh"] = _ssh_doc(c.ssh)
    spec["containerRuntime"] = {"type": c.runtime}
    spec["registry"] = _registry_doc(c)
    if c.data_root:
        spec["dataRoot"] = c.data_root
    if c.cmd_args:
        spec["cmd_args"] = [f"{k}={v}" for k, v in c.cmd_args.items()]
    if c.cmds:  # what run/apply chose to run on master0 (sealer v0.9 keeps it in the Clusterfile alike)
        spec["cmd"] = list(c.cmds)
    if c.apps is not None:
        spec["appNames"] = list(c.apps)  # []: launch no app
    spec["hosts"] = [group(g) for g in c.hosts if g.ips]
    docs = [{"apiVersion": API_VERSION, "kind": "Cluster", "metadata": {"name": c.name}, "spec": spec}]
    docs += [dict(d.data) for d in c.kubeadm_documents]
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)


def _registry_doc(c: Cluster) -> dict[str, Any]:
    a = c.registry_access
    if not a.v09:
        return {"domain": c.registry_domain, "port": c.registry_port}
    if a.external:
        ext: dict[str, Any] = {"domain": c.registry_domain}
        if c.registry_port:
            ext["port"] = c.registry_port
        if a.has_credentials:
            ext["username"], ext["password"] = a.username, a.password
        return {"externalRegistry": ext}
    local: dict[str, Any] = {"domain": c.registry_domain, "port": c.registry_port}
    if a.has_credentials:
        local["username"], local["password"] = a.username, a.password
    local["insecure"] = not a.tls
    local["ha"] = a.ha
    san = {k: list(v) for k, v in (("dnsNames", a.san_dns), ("ips", a.san_ips)) if v}
    if san:
        local["cert"] = {"subjectAltName": san}
    return {"localRegistry": local}


@dataclass(frozen=True)
class Saved:
    cluster: Cluster
    image: str
    data_root: str


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def save(root: Path, cluster: Cluster, image: str, data_root: str) -> Path:
    d = root / cluster.name
    _write_private(d / "Clusterfile", dump_cluster(cluster))
    _write_private(d / "delivery.json", json.dumps({"image": image, "dataRoot": data_root}) + "\n")
    return d / "Clusterfile"


def load(root: Path, name: str) -> Saved | None:
    d = root / name
    cf = d / "Clusterfile"
    if not cf.is_file():
        return None
    cluster = parse_clusterfile(cf.read_text(encoding="utf-8"), str(cf))
    try:
        meta = json.loads((d / "delivery.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    image = meta.get("image") or cluster.image or ""
    from sealer.deliver.plan import DEFAULT_DATA_ROOT

    return Saved(cluster, str(image), str(meta.get("dataRoot") or DEFAULT_DATA_ROOT))


def clusters(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "Clusterfile").is_file())


def only_cluster(root: Path, name: str | None) -> str:
    """The cluster to act on: ``name``, or the only one in the state dir."""
    if name:
        return name
    names = clusters(root)
    if len(names) == 1:
        return names[0]
    if not names:
        raise SealerError(f"no delivered cluster in {root} (run `sealer run` or `sealer apply` first)")
    raise SealerError(f"several clusters in {root} ({', '.join(names)}): say which with --cluster-name")


def forget(root: Path, name: str) -> None:
    d = root / name
    for f in ("Clusterfile", "delivery.json"):
        (d / f).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        d.rmdir()
