"""Scale-down: remove nodes from Kubernetes before their hosts are reset, as sealer does.

sealer's ``deleteNode``/``deleteMaster`` (``pkg/runtime/kubernetes/delete.go``, v0.9; ``KubeDeleteNode =
"kubectl delete node %s"`` in ``pkg/runtime/kubernetes/runtime.go``) asks the host for its node name (its
hostname) and runs ``kubectl delete node <name>`` on the remaining master0; a host that is not a node of the
cluster ("not found") is skipped. We do it before the host's clean-up (so the API server stops scheduling to
it before kubelet and the runtime go away), with the image's ``bin/`` first on PATH and the cluster's
kubeconfig, like the CMDs.
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


def delete_node_script(paths: HostPaths, name: str) -> str:
    """``kubectl delete node NAME`` in the rootfs with bin/ first on PATH and KUBECONFIG; an image without
    ``bin/kubectl`` (and no kubectl on the host) has no Kubernetes to update: exit 3."""
    r = quote(paths.rootfs)
    return (f'export PATH={r}/bin:"$PATH" KUBECONFIG={steps.KUBECONFIG}\n'
            "command -v kubectl >/dev/null 2>&1 || { echo 'no kubectl on master0' >&2; exit 3; }\n"
            f"cd {r} && kubectl delete node {quote(name)}\n")


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
        except HostError as e:
            rep.note(f"{ip}: cannot read its node name ({e}); not deleted from Kubernetes")
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
            res = await m0.run("bash -s", input=delete_node_script(paths, name).encode(), check=False, timeout=300)
            if res.exit_code == 3:
                rep.note("the image has no kubectl: nodes are not deleted from Kubernetes")
                break
            if res.exit_code != 0 and not _NOT_FOUND.search(res.stderr + res.stdout):
                rep.phase_failed(ip, "delete-node", res.tail())
                raise DeliveryError(f"kubectl delete node {name} on {master0} exited with {res.exit_code}",
                                    host=ip, phase="delete-node", tail=res.tail())
            detail = f"node {name} deleted" if res.exit_code == 0 else f"node {name} was not registered"
            rep.phase_done(ip, "delete-node", skipped=res.exit_code != 0, seconds=0.0, detail=detail)
            out[ip] = name
    finally:
        await m0.close()
    return out
