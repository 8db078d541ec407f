"""Docker containers as nodes for ``sealer build -b container``, through the Docker Engine API (``docker`` SDK).

Each node is a container of the node image with host networking, running ``sshd`` as its process on its own
loopback address, so delivery reaches it like any host. Every node gets its own ``/etc/hosts`` (docker writes
one per container), a volume at ``/var/lib/containerd`` (containerd's snapshotter cannot work on the container's
own overlay root) and the cgroup tree, so containerd runs inside.

Why not ``--privileged``: it asks for every capability, and where the engine's bounding set lacks
``CAP_SYS_RESOURCE`` (as on these machines) the container fails to start ("unable to apply caps"). Nodes get
``--cap-add ALL --cap-drop SYS_RESOURCE`` with seccomp, AppArmor and the masked system paths lifted and every
device allowed instead — what containerd and runc inside the node need.

Everything created carries the label ``sealer.io/build-id=<build-id>`` and is listed in the build's ledger;
``destroy()`` removes the containers (forced) and their volumes, also those found only by label.
"""

from __future__ import annotations

import logging
import shlex
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.infra.providers.base import NodeSpec, ProviderError, ProvisionedCluster, ProvisionedNode
from sealer.infra.providers.ledger import Ledger
from sealer.infra.providers.nodeimage import NodeImageRecipe, ensure_node_image
from sealer.infra.providers.sshkey import generate_key

log = logging.getLogger(__name__)

LABEL = "sealer.io/build-id"


@dataclass(frozen=True)
class ContainerSettings:
    docker_host: str  # e.g. unix:///var/run/docker.sock
    recipe: NodeImageRecipe
    cache_dir: Path
    addresses: tuple[str, ...] = tuple(f"127.0.0.{n}" for n in range(21, 41))  # one loopback address per node
    ssh_port: int = 22
    registry_host: str = "sea.hub"
    timeout: float = 60.0


def docker_client(docker_host: str) -> Any:
    """A client for the engine at ``docker_host``; a clear error when none answers."""
    import docker  # imported on first use: only container builds need it

    try:
        client = docker.DockerClient(base_url=docker_host, timeout=120)
        client.ping()
    except Exception as e:
        raise ProviderError(
            f"no Docker engine answers at {docker_host}: {e}",
            "container builds need a running Docker engine: start it (`dockerd &` or `systemctl start docker`), "
            "or point DOCKER_HOST / --docker-host at one; `-b lite` needs no engine") from None
    return client


class ContainerProvider:
    name = "container"

    def __init__(self, settings: ContainerSettings, *, build_id: str, state_dir: Path,
                 on_event: Callable[[str], None] | None = None, client: Any = None) -> None:
        self.settings = settings
        self.build_id = build_id
        self.state_dir = state_dir
        self.on_event = on_event or (lambda msg: None)
        self.ledger = Ledger(state_dir / "infra", build_id, self.name, settings.docker_host)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client(self.settings.docker_host)
        return self._client

    def _container_name(self, n: int) -> str:
        return f"sealer-{self.build_id}-node{n}"

    def create(self, spec: NodeSpec) -> ProvisionedCluster:
        s = self.settings
        if spec.total > len(s.addresses):
            raise ProviderError(f"{spec.total} nodes asked for, only {len(s.addresses)} node addresses configured")
        image = ensure_node_image(self.client, s.recipe, s.cache_dir)
        self.on_event(f"node image {image}")
        key_path, public_key = generate_key(self.state_dir / "infra" / self.build_id)
        master0 = s.addresses[0]
        nodes = []
        for n in range(spec.total):
            address = s.addresses[n]
            name = self._container_name(n)
            existing = self.client.containers.list(all=True, filters={"name": f"^{name}$"})
            if not existing:
                volume = self.client.volumes.create(name=f"{name}-containerd", labels={LABEL: self.build_id})
                self.ledger.add("volume", volume.name)
                container = self._run(image, name, address, volume.name, public_key, master0)
                self.ledger.add("container", container.name)
            nodes.append(ProvisionedNode(address, "master" if n < spec.masters else "node", name))
            self.on_event(f"node {name} on {address}")
        deadline = time.monotonic() + s.timeout
        for node in nodes:
            self._wait_ssh(node.address, node.resource_id, deadline)
        return ProvisionedCluster(tuple(nodes), user="root", private_key=key_path)

    def _run(self, image: str, name: str, address: str, volume: str, public_key: str, master0: str) -> Any:
        s = self.settings
        script = (
            "set -e; mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh; "
            'printf "%s\\n" "$SEALER_AUTHORIZED_KEY" > /root/.ssh/authorized_keys; '
            "chmod 600 /root/.ssh/authorized_keys; ssh-keygen -A >/dev/null; "
            f"exec /usr/sbin/sshd -D -e -o ListenAddress={shlex.quote(address)}:{s.ssh_port} "
            "-o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o UsePAM=no"
        )
        api = self.client.api
        try:
            host_config = api.create_host_config(
                network_mode="host", init=True, cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
                security_opt=["seccomp=unconfined", "apparmor=unconfined"],
                device_cgroup_rules=["a *:* rwm"], tmpfs={"/run": "exec,mode=755"},
                binds={volume: {"bind": "/var/lib/containerd", "mode": "rw"},
                       "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
                extra_hosts={s.registry_host: master0})
            # `--security-opt systempaths=unconfined` of the docker CLI: nothing masked or read-only in /proc,
            # /sys (the SDK has no parameter for these HostConfig fields)
            host_config["MaskedPaths"] = []
            host_config["ReadonlyPaths"] = []
            created = api.create_container(image, command=["sh", "-c", script], name=name, hostname=name,
                                           labels={LABEL: self.build_id},
                                           environment={"SEALER_AUTHORIZED_KEY": public_key},
                                           host_config=host_config)
            api.start(created["Id"])
            return self.client.containers.get(created["Id"])
        except Exception as e:
            raise ProviderError(f"start node container {name}: {e}") from None

    def _wait_ssh(self, address: str, name: str, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection((address, self.settings.ssh_port), timeout=1) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            container = self.client.containers.get(name)
            if container.status not in ("created", "running"):
                logs = container.logs(tail=20).decode(errors="replace")
                raise ProviderError(f"node container {name} stopped ({container.status}):\n{logs}")
            if time.monotonic() > deadline:
                raise ProviderError(f"node {name}: sshd not answering on {address}:{self.settings.ssh_port}")
            time.sleep(0.1)

    def labelled(self) -> list[tuple[str, str, str]]:
        """``(kind, name, build id)`` of every container and volume a sealer build left on this engine."""
        out = []
        for c in self.client.containers.list(all=True, filters={"label": LABEL}):
            out.append(("container", c.name, c.labels.get(LABEL, "")))
        for v in self.client.volumes.list(filters={"label": LABEL}):
            out.append(("volume", v.name, (v.attrs.get("Labels") or {}).get(LABEL, "")))
        return out

    def destroy(self) -> list[str]:
        found = {(k, n) for k, n, b in self.labelled() if b == self.build_id}
        found |= {(r["kind"], r["id"]) for r in self.ledger.record.resources}
        deleted = []
        import docker.errors

        for kind in ("container", "volume"):
            for name in sorted(n for k, n in found if k == kind):
                try:
                    if kind == "container":
                        self.client.containers.get(name).remove(force=True, v=True)
                    else:
                        self.client.volumes.get(name).remove(force=True)
                except docker.errors.NotFound:
                    pass
                self.ledger.remove(kind, name)
                deleted.append(f"{kind} {name}")
                self.on_event(f"removed {kind} {name}")
        self.ledger.close()
        return deleted
