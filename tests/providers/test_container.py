"""Docker containers as nodes, on a real Docker engine started by the test in its own mount namespace."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.dockerd import Dockerd, dockerd  # noqa: F401

from sealer.infra.providers import NodeSpec, ProviderError
from sealer.infra.providers.container import LABEL, ContainerProvider, ContainerSettings, docker_client
from sealer.infra.providers.nodeimage import NodeImageRecipe, apt_source_files, debian_mirror

# The node image is content-addressed by its recipe; keeping the tar between runs only saves time.
CACHE = Path(os.environ.get("SEALER_TEST_CACHE", "/var/tmp/sealer-test-cache")) / "node-images"


def _addresses() -> tuple[str, ...]:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    return tuple(f"127.0.{120 + worker}.{n}" for n in range(21, 25))


def _ssh(key: Path, address: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{address}", command],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def recipe() -> NodeImageRecipe:
    found = debian_mirror(apt_source_files())
    if found is None:
        pytest.fail("no Debian mirror configured in /etc/apt: container builds make their node image from it")
    return NodeImageRecipe(mirror=found[0], suite=found[1])


@pytest.fixture
def provider(dockerd: Dockerd, recipe: NodeImageRecipe, tmp_path: Path) -> Iterator[ContainerProvider]:  # noqa: F811
    p = ContainerProvider(ContainerSettings(docker_host=dockerd.url, recipe=recipe, cache_dir=CACHE,
                                            addresses=_addresses()),
                          build_id=f"t{os.getpid()}{tmp_path.name[-6:]}", state_dir=tmp_path / "state")
    yield p
    p.destroy()


def test_two_nodes_reachable_over_ssh_with_containerd_inside(provider: ContainerProvider) -> None:
    cluster = provider.create(NodeSpec(masters=1, nodes=1))
    assert cluster.private_key is not None
    master0, node = cluster.masters[0], cluster.workers[0]
    for addr in (master0, node):
        r = _ssh(cluster.private_key, addr, "cat /etc/hosts; hostname")
        assert r.returncode == 0, r.stderr
        assert f"{master0}\tsea.hub" in r.stdout, "each node resolves sea.hub to master0"
    assert _ssh(cluster.private_key, master0, "hostname").stdout != _ssh(cluster.private_key, node, "hostname").stdout
    # a private /etc/hosts: writing on one node is not seen on the other
    _ssh(cluster.private_key, node, "echo '10.9.9.9 only-on-node' >> /etc/hosts")
    assert "only-on-node" not in _ssh(cluster.private_key, master0, "cat /etc/hosts").stdout
    # containerd runs inside a node (what delivery needs to pull the image's cached images)
    r = _ssh(cluster.private_key, node, "nohup containerd >/var/log/containerd.log 2>&1 & "
                                        "for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done; "
                                        "ctr version && ctr plugins ls | grep overlayfs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok" in r.stdout.split("overlayfs", 1)[1].splitlines()[0]


def test_destroy_removes_every_container_and_volume(provider: ContainerProvider, dockerd: Dockerd) -> None:  # noqa: F811
    provider.create(NodeSpec(masters=1, nodes=1))
    client = docker_client(dockerd.url)
    assert len(client.containers.list(all=True, filters={"label": f"{LABEL}={provider.build_id}"})) == 2
    deleted = provider.destroy()
    assert sorted(d.split()[0] for d in deleted) == ["container", "container", "volume", "volume"]
    assert client.containers.list(all=True, filters={"label": f"{LABEL}={provider.build_id}"}) == []
    assert client.volumes.list(filters={"label": f"{LABEL}={provider.build_id}"}) == []
    assert provider.destroy() == []


def test_a_node_failing_half_way_is_cleaned_up(provider: ContainerProvider, dockerd: Dockerd) -> None:  # noqa: F811
    # the second node's address is taken, so its sshd cannot listen and the container exits
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((provider.settings.addresses[1], 22))
    busy.listen(1)
    try:
        with pytest.raises(ProviderError, match="node1"):
            provider.create(NodeSpec(masters=1, nodes=1))
    finally:
        busy.close()
    provider.destroy()
    client = docker_client(dockerd.url)
    assert client.containers.list(all=True, filters={"label": LABEL}) == []
    assert client.volumes.list(filters={"label": LABEL}) == []


def test_no_engine_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as e:
        docker_client(f"unix://{tmp_path}/none.sock")
    assert "no Docker engine answers" in str(e.value) and "dockerd" in str(e.value)


def test_debian_mirror_from_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "a.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")
    assert debian_mirror([tmp_path / "missing.list", tmp_path / "a.sources"]) == ("http://mirror.example/debian",
                                                                                 "bookworm")
    (tmp_path / "b.list").write_text("# c\ndeb [arch=amd64] http://deb.example/debian trixie main\n")
    assert debian_mirror([tmp_path / "b.list"]) == ("http://deb.example/debian", "trixie")
    assert debian_mirror([]) is None
