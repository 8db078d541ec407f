"""Scale-down: remove nodes from Kubernetes before their hosts are reset, as sealer does.

sealer's ``deleteNode``/``deleteMaster`` (v0.9 ``pkg/runtime/kubernetes/clean.go``; ``KubeDeleteNode =
"kubectl delete node %s"``) reset the host, then find its node name on the remaining master0 (the node whose
InternalIP is the host's address, ``getNodeNameByCmd``) and run ``kubectl delete node <name>`` there. We delete
the node first (the API server stops scheduling to it before kubelet and the runtime go away), then clean the
host; the name is the node with the host's InternalIP, else the host's hostname lowercased (kubelet's default);
``kubectl`` runs with the image's ``bin/`` first on PATH and the cluster's kubeconfig, like the CMDs. A node the
cluster does not know ("NotFound") is skipped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from shlex import quote

from sealer.deliver import steps
from sealer.deliver.errors import DeliveryError
from sealer.deliver.plan import HostPaths
from sealer.deliver.reporter import LogReporter, Reporter
from sealer.infra import HostError, SSHConfig, connect

_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_NOT_FOUND = re.compile(r"NotFound|not found", re.IGNORECASE)


NAME_TAG = "@@sealer-py-node "
_JSONPATH = ('{range .items[*]}{.metadata.name}{" "}'
             '{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}')


def delete_node_script(paths: HostPaths, ip: str, hostname: str) -> str:
    """On master0: the node whose InternalIP is ``ip`` (else ``hostname``), then ``kubectl delete node`` in the
    rootfs with bin/ first on PATH and KUBECONFIG; an image without ``bin/kubectl`` (and no kubectl on the host)
    has no Kubernetes to update: exit 3."""
    r = quote(paths.rootfs)
    return (f'export PATH={r}/bin:"$PATH" KUBECONFIG={steps.KUBECONFIG}\n'
            "command -v kubectl >/dev/null 2>&1 || { echo 'no kubectl on master0' >&2; exit 3; }\n"
            f"cd {r}\n"
            f"name=$(kubectl get nodes -o jsonpath={quote(_JSONPATH)} 2>/dev/null | "
            f"awk -v ip={quote(ip)} '{{for (i = 2; i <= NF; i++) if ($i == ip) {{print $1; exit}}}}')\n"
            f'[ -n "$name" ] || name={quote(hostname)}\n'
            '[ -n "$name" ] || { echo "no node with this address (NotFound)" >&2; exit 4; }\n'
            f'echo "{NAME_TAG}$name"\n'
            'kubectl delete node "$name"\n')


async def node_name(ip: str, ssh: SSHConfig) -> str:
    """The Kubernetes node name of a host: its hostname, lowercased (kubelet's default)."""
    h = await connect(ip, ssh)
    try:
        res = await h.run("hostname", timeout=60)
    finally:
        await h.close()
    name = res.stdout.strip().lower()
    if not _NODE_NAME.match(name):
        raise DeliveryError(f"hostname {name!r} is not a Kubernetes node name", host=ip, phase="delete-node")
    return name


async def delete_nodes(master0: str, hosts: Sequence[str], ssh_for: Callable[[str], SSHConfig],
                       paths: HostPaths, reporter: Reporter | None = None) -> dict[str, str]:
    """``kubectl delete node`` on master0 for every host of ``hosts``; returns ``{host: node name | "-"}``.
    Tolerant: a host that is unreachable or not a node is reported and skipped (its clean-up, next, says
    whether the host is there); any other kubectl failure stops the scale-down with its stderr tail."""
    rep = reporter or LogReporter()
    names: dict[str, str] = {}

    async def name_of(ip: str) -> None:
        try:
            names[ip] = await node_name(ip, ssh_for(ip))
        except (HostError, DeliveryError) as e:
            rep.note(f"{ip}: cannot read its hostname ({e}); looking its node up by address only")
            names[ip] = ""
    await asyncio.gather(*(name_of(ip) for ip in hosts))
    out = {ip: "-" for ip in hosts}
    if not names:
        return out
    try:
        m0 = await connect(master0, ssh_for(master0))
    except HostError as e:
        raise DeliveryError(str(e).removeprefix(f"{master0}: "), host=master0, phase="delete-node") from None
    try:
        for ip, name in names.items():
            rep.phase_started(ip, "delete-node")
            res = await m0.run("bash -s", input=delete_node_script(paths, ip, name).encode(), check=False,
                               timeout=300)
            got = [ln[len(NAME_TAG):] for ln in res.stdout.splitlines() if ln.startswith(NAME_TAG)]
            name = got[-1] if got else name
            if res.exit_code == 3:
                rep.note("the image has no kubectl: nodes are not deleted from Kubernetes")
                break
            if res.exit_code != 0 and not _NOT_FOUND.search(res.stderr + res.stdout):
                rep.phase_failed(ip, "delete-node", res.tail())
                raise DeliveryError(f"kubectl delete node {name} on {master0} exited with {res.exit_code}",
                                    host=ip, phase="delete-node", tail=res.tail())
            detail = f"node {name} deleted" if res.exit_code == 0 else f"node {name or ip} was not registered"
            rep.phase_done(ip, "delete-node", skipped=res.exit_code != 0, seconds=0.0, detail=detail)
            out[ip] = name
    finally:
        await m0.close()
    return out
