"""Cluster builds (``-b container``, ``-b cloud``, or existing hosts): build inside a live cluster.

Phases, each timed:

1. **provision** — the provider creates the nodes (docker containers, Aliyun ECS), or the Clusterfile names
   existing hosts;
2. **deliver** — the ``FROM`` image is delivered with ``sealer run``'s engine; its registry on master0 serves the
   images the base caches and, for every upstream registry, a pull-through cache, so that whatever a node pulls
   (by its original name, through containerd's mirror configuration) passes through master0;
3. **build** — the Kubefile is executed by the same executor as a lite build: ``COPY`` locally, ``RUN`` on
   master0 in the delivered rootfs against the live cluster (its file changes come back and become the layer),
   then the Kubefile's ``CMD``s on master0;
4. **settle** — wait until every pod is ready (or list those that are not);
5. **collect** — every image the pull-through caches hold, with the node that pulled it (from the caches'
   access logs), joins lite discovery's images in the image's ``registry/``;
6. **tear down** — the nodes are destroyed (or, for existing hosts, cleaned as ``sealer delete --all``), also
   on failure and Ctrl-C; ``keep`` leaves them and says how to delete them.

The file layers are made exactly as in a lite build, so the same Kubefile gives the same non-``registry/``
layers with both; the image list is lite discovery's plus what the cluster pulled.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sealer.build.options import BuildOptions
from sealer.build.remote import Loop, RemoteRootfs, run_step_remotely
from sealer.cluster.clusterfile import SSH, Cluster
from sealer.deliver import manifest as mf
from sealer.errors import BuildError, SealerError
from sealer.infra import Host, SSHConfig, connect
from sealer.infra.providers import NodeSpec, Provider, ProvisionedCluster
from sealer.kubefile import Run
from sealer.reference import parse as parse_ref

log = logging.getLogger(__name__)

# Upstreams every build cluster proxies, besides those the image's registry_config.yaml names.
DEFAULT_UPSTREAMS = {
    "docker.io": "https://registry-1.docker.io",
    "quay.io": "https://quay.io",
    "registry.k8s.io": "https://registry.k8s.io",
    "k8s.gcr.io": "https://k8s.gcr.io",
    "gcr.io": "https://gcr.io",
    "ghcr.io": "https://ghcr.io",
}
KUBECONFIG = "/etc/kubernetes/admin.conf"
_ACCESS = re.compile(r'^(\S+) \S+ \S+ \[[^\]]*\] "(?:GET|HEAD) /v2/(.+?)/manifests/([^ ?"]+)')


@dataclass
class ClusterTarget:
    """Where a cluster build runs: machines a provider creates, or existing hosts (a Clusterfile)."""

    provider: Provider | None = None
    existing: Cluster | None = None
    spec: NodeSpec = field(default_factory=lambda: NodeSpec(masters=1, nodes=1))
    keep: bool = False
    upstreams: Mapping[str, str] = field(default_factory=dict)  # domain -> URL the proxies pull from
    default_upstreams: bool = True  # also proxy DEFAULT_UPSTREAMS (off where the nodes reach no internet)
    state_root: Path = Path.home() / ".sealer"
    settle_timeout: float = 600.0
    data_root: str = "/var/lib/sealer/data"


@dataclass
class Captured:
    reference: str
    nodes: list[str]
    upstream: str

    @property
    def source(self) -> str:
        who = ", ".join(self.nodes) if self.nodes else "a node"
        return f"pulled by node {who} through the {self.upstream} pull-through cache"


def new_build_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def upstreams_from_mirrors(registries: Sequence[Any], loopback: Callable[[str], bool]) -> dict[str, str]:
    """``domain -> URL`` for the build cluster's pull-through caches from registries.conf entries: a domain
    whose first mirror is a whole registry (no path) is proxied from that mirror."""
    out: dict[str, str] = {}
    for entry in registries:
        prefix = str(entry.prefix)
        if "/" in prefix or not entry.mirrors or entry.blocked:
            continue
        m = entry.mirrors[0]
        if "/" in m.location:
            continue
        scheme = "http" if m.insecure or loopback(m.location) else "https"
        out[prefix] = f"{scheme}://{m.location}"
    return out


def registry_config_text(existing: str | None, upstreams: Mapping[str, str], *, defaults: bool = True) -> str:
    """``etc/registry_config.yaml`` for the build cluster: the image's own upstreams, then ``upstreams``, then
    (with ``defaults``) a proxy per well-known registry; the first entry for a domain wins."""
    doc: dict[str, Any] = yaml.safe_load(existing) if existing else {}
    if not isinstance(doc, dict):
        doc = {}
    proxy = doc.setdefault("proxy", {})
    remotes = list(proxy.get("remoteregistries") or [])
    have = {str(r.get("domain") or "") for r in remotes if isinstance(r, dict)}
    for domain, url in {**(DEFAULT_UPSTREAMS if defaults else {}), **dict(upstreams)}.items():
        if domain not in have:
            remotes.append({"url": url, "domain": domain})
    proxy["remoteregistries"] = remotes
    return yaml.safe_dump(doc, sort_keys=False)


def parse_access_log(text: str) -> dict[tuple[str, str], set[str]]:
    """``(repository, tag or digest) -> client addresses`` of manifest requests in a registry access log."""
    out: dict[tuple[str, str], set[str]] = {}
    for line in text.splitlines():
        m = _ACCESS.match(line)
        if m:
            out.setdefault((m.group(2), m.group(3)), set()).add(m.group(1))
    return out


def _pods_not_ready(doc: Mapping[str, Any]) -> list[str]:
    bad = []
    for pod in doc.get("items") or []:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        phase = status.get("phase")
        ready = phase == "Succeeded" or (phase == "Running" and all(
            c.get("ready") for c in status.get("containerStatuses") or [{}]))
        if not ready:
            bad.append(f"{meta.get('namespace', '?')}/{meta.get('name', '?')} ({phase or 'Unknown'})")
    return bad


class ClusterSession:
    """The live build cluster: delivered base, master0's rootfs, the pull-through caches."""

    def __init__(self, target: ClusterTarget, opts: BuildOptions, say: Callable[[str], None]) -> None:
        self.target = target
        self.opts = opts
        self.say = say
        self.loop = Loop()
        self.cluster: Cluster | None = None
        self.provisioned: ProvisionedCluster | None = None
        self.remote: RemoteRootfs | None = None
        self.master0: Host | None = None
        self.paths: Any = None
        self.upstream_domains: list[str] = []
        self.times: dict[str, float] = {}

    # ---- phases ------------------------------------------------------------------------------------------
    def _timed(self, phase: str, started: float) -> None:
        self.times[phase] = self.times.get(phase, 0.0) + time.monotonic() - started
        self.say(f"  --> {phase} took {self.times[phase]:.1f}s")

    def provision(self, name: str) -> Cluster:
        t = time.monotonic()
        if self.target.existing is not None:
            self.cluster = self.target.existing
            self.say(f"CLUSTER: existing hosts {', '.join(self.cluster.masters + self.cluster.nodes)}")
        else:
            assert self.target.provider is not None
            self.say(f"CLUSTER: creating {self.target.spec.total} nodes ({self.target.provider.build_id})")
            self.provisioned = self.target.provider.create(self.target.spec)
            p = self.provisioned
            from sealer.deliver.ops import cluster_from_flags

            self.cluster = cluster_from_flags(name, "", p.masters, p.workers,
                                              SSH(user=p.user, pk=str(p.private_key) if p.private_key else None,
                                                  passwd=p.password), {})
        self._timed("provision", t)
        return self.cluster

    def ssh_for(self) -> Callable[[str], SSHConfig]:
        from sealer.deliver.ops import ssh_configs

        assert self.cluster is not None
        known = self.target.state_root / "infra" / "known_hosts" if self.provisioned is not None else None
        return ssh_configs(self.cluster, known)  # type: ignore[no-any-return]

    def deliver_base(self, store_root: Path, base_ref: str) -> None:
        """``sealer run`` of the base image onto the build cluster, with pull-through caches for upstreams."""
        from sealer.deliver.engine import Delivery
        from sealer.deliver.ops import exported
        from sealer.deliver.plan import Plan

        t = time.monotonic()
        assert self.cluster is not None
        with exported(store_root, base_ref) as content:
            # what master0's rootfs holds before the build, as the executor's working rootfs will start
            baseline = mf.build_manifest(content.rootfs, with_registry=False)
            cfg = content.rootfs / "etc" / "registry_config.yaml"
            text = registry_config_text(cfg.read_text() if cfg.is_file() else None, self.target.upstreams,
                                        defaults=self.target.default_upstreams)
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(text)
            self.upstream_domains = [str(r["domain"]) for r in yaml.safe_load(text)["proxy"]["remoteregistries"]]
            plan = Plan(self.cluster, base_ref, content.rootfs, self.target.data_root, list(content.cmds),
                        content.cached)
            self.paths = plan.paths
            self.say(f"DELIVER: {base_ref} to {', '.join(plan.all_hosts)} "
                     f"({len(self.upstream_domains)} pull-through caches on {plan.master0})")
            delivery = Delivery(plan, self.ssh_for())
            try:
                self.loop.run(delivery.run())
            finally:
                self.loop.run(delivery.close())
        self.master0 = self.loop.run(connect(self.cluster.masters[0], self.ssh_for()(self.cluster.masters[0])))
        env = {"KUBECONFIG": KUBECONFIG, **dict(self.cluster.host_env(self.cluster.masters[0]))}
        self.remote = RemoteRootfs(self.master0, self.paths.rootfs, env)
        self.remote.baseline(baseline)
        self._timed("deliver", t)

    def run_step(self, step: Run, local_root: Path) -> None:
        assert self.remote is not None
        t = time.monotonic()

        def echo(_stream: str, line: str) -> None:
            if not self.opts.quiet:
                self.say("  | " + line)

        run_step_remotely(self.loop, self.remote, step, local_root, echo)
        self._timed("build", t)

    def before_cache(self, local_root: Path, cmds: Sequence[str]) -> list[tuple[str, str]]:
        """Run the Kubefile's CMDs on master0, wait for the pods, and collect what the nodes pulled."""
        assert self.remote is not None
        t = time.monotonic()
        self.loop.run(self.remote.push(local_root))
        for cmd in cmds:
            self.say(f"CMD on {self.remote.host.address}: {cmd}")
            try:
                self.loop.run(self.remote.run(cmd, on_line=lambda _s, line: None if self.opts.quiet
                                              else self.say("  | " + line)))
            except SealerError as e:
                raise BuildError(f"CMD failed on the build cluster: {cmd}\n{e}") from None
        self._timed("build", t)
        self.settle()
        return [(c.reference, c.source) for c in self.collect()]

    def settle(self) -> None:
        assert self.remote is not None
        t = time.monotonic()
        deadline = time.monotonic() + self.target.settle_timeout
        probe = self.loop.run(self.remote.host.run(
            f"PATH={shlex.quote(self.remote.root)}/bin:$PATH command -v kubectl", check=False))
        if probe.exit_code != 0:
            self.say("  WARNING: the image has no kubectl: not waiting for pods")
            return
        bad: list[str] = []
        while True:
            r = self.loop.run(self.remote.host.run(
                f"export KUBECONFIG={KUBECONFIG} PATH={shlex.quote(self.remote.root)}/bin:$PATH; "
                "kubectl get pods -A -o json", check=False, timeout=60))
            try:
                bad = _pods_not_ready(json.loads(r.stdout)) if r.exit_code == 0 else ["(kubectl failed)"]
            except ValueError:
                bad = ["(kubectl printed no JSON)"]
            if not bad:
                break
            if time.monotonic() > deadline:
                raise BuildError(f"pods not ready after {self.target.settle_timeout:.0f}s: {', '.join(bad)}")
            time.sleep(2)
        self._timed("settle", t)

    def node_images(self) -> dict[str, set[str]]:
        """``reference -> hosts`` whose container runtime holds it (what each node actually pulled)."""
        assert self.cluster is not None
        c = self.cluster
        cmd = ("docker images --format '{{.Repository}}:{{.Tag}}'" if c.runtime == "docker"
               else "ctr -n k8s.io images ls -q")
        out: dict[str, set[str]] = {}

        async def one(ip: str) -> None:
            host = self.master0 if self.master0 is not None and ip == self.master0.address else \
                await connect(ip, self.ssh_for()(ip))
            try:
                r = await host.run(cmd, check=False, timeout=120)
            finally:
                if host is not self.master0:
                    await host.close()
            for line in r.stdout.splitlines():
                try:
                    ref = str(parse_ref(line.strip()))
                except SealerError:
                    continue
                out.setdefault(ref, set()).add(ip)

        async def all_hosts() -> None:
            import asyncio

            await asyncio.gather(*(one(ip) for ip in [*c.masters, *c.nodes]))

        self.loop.run(all_hosts())
        return out

    def collect(self) -> list[Captured]:
        """Every image the pull-through caches on master0 hold, with the nodes that pulled it (the nodes'
        container runtimes say who holds it; the caches' access logs name clients where addresses differ)."""
        assert self.remote is not None and self.paths is not None and self.cluster is not None
        t = time.monotonic()
        holders = self.node_images()
        hosts = set(self.cluster.masters + self.cluster.nodes)
        out: list[Captured] = []
        for i, domain in enumerate(self.upstream_domains):
            storage = f"{self.paths.meta}/registry-proxy/{domain.replace(':', '_')}/docker/registry/v2/repositories"
            r = self.loop.run(self.remote.host.run(
                f"cd {shlex.quote(storage)} 2>/dev/null || exit 0; "
                "find . -path '*/_manifests/tags/*/current/link' -print", check=False))
            log_text = self.loop.run(self.remote.host.read_file(f"{self.paths.registry_dir}/proxy-{i}.log"))
            access = parse_access_log((log_text or b"").decode("utf-8", "replace"))
            for line in sorted(r.stdout.splitlines()):
                rel = line.removeprefix("./")
                repo, _, rest = rel.partition("/_manifests/tags/")
                tag = rest.split("/", 1)[0]
                try:
                    ref = str(parse_ref(f"{domain}/{repo}:{tag}"))
                except SealerError:
                    log.warning("ignoring unparsable cached reference %s/%s:%s", domain, repo, tag)
                    continue
                nodes = sorted(holders.get(ref, set()) or (access.get((repo, tag), set()) & hosts))
                out.append(Captured(ref, nodes, domain))
                self.say(f"  captured {ref}  <- pulled by {', '.join(nodes) or 'a node'}")
        self._timed("collect", t)
        return out

    def teardown(self, failed: bool) -> None:
        t = time.monotonic()
        try:
            if self.master0 is not None:
                self.loop.run(self.master0.close())
            if self.target.keep:
                self._say_kept()
                return
            if self.provisioned is not None and self.target.provider is not None:
                deleted = self.target.provider.destroy()
                self.say(f"TEARDOWN: deleted {len(deleted)} resources")
            elif self.cluster is not None and self.target.existing is not None and self.paths is not None:
                from sealer.deliver.cleanup import clean_hosts

                c = self.cluster
                hosts = [*c.nodes, *c.masters[1:], c.masters[0]]
                self.loop.run(clean_hosts(hosts, self.ssh_for(), self.paths, c.name, registry_host=c.masters[0],
                                          domain=c.registry_domain, port=c.registry_port,
                                          registry_hosts=c.registry_hosts))
                self.say(f"TEARDOWN: cleaned {', '.join(hosts)}")
        finally:
            self.loop.close()
            self._timed("teardown", t)
            if failed:
                log.info("build cluster torn down after a failure")

    def _say_kept(self) -> None:
        if self.target.provider is not None:
            self.say(f"KEPT: the build's nodes are still running; delete them with "
                     f"`sealer infra delete {self.target.provider.build_id}`")
        elif self.cluster is not None:
            self.say(f"KEPT: the build cluster {self.cluster.name} is still delivered on "
                     f"{', '.join(self.cluster.masters + self.cluster.nodes)}")


def build_on_cluster(opts: BuildOptions, store: Any, target: ClusterTarget,
                     say: Callable[[str], None], reporter: Any = None) -> Any:
    """Build ``opts`` on a live cluster (see the module docstring); returns the executor's BuildResult."""
    from dataclasses import replace

    from sealer.build.executor import build
    from sealer.build.options import ClusterHooks
    from sealer.kubefile import parse_file
    from sealer.oci.model import host_platform

    kubefile = parse_file(opts.kubefile_path)
    if kubefile.base.is_scratch:
        raise BuildError(f"a {opts.backend} build runs the Kubefile on a cluster of its FROM image, and FROM "
                         "scratch has no Kubernetes: use `-b lite`, or FROM a base cluster image",
                         str(opts.kubefile_path), kubefile.base.location.line)
    base_ref = str(kubefile.base.reference)
    platform = opts.platforms[0] if opts.platforms else host_platform()
    try:
        store.image(base_ref, platform)
    except SealerError:
        from sealer.registry import pull

        say(f"pulling base image {base_ref} ...")
        pull(store, base_ref, opts.registry(), platform=platform)
    build_id = target.provider.build_id if target.provider is not None else new_build_id()
    session = ClusterSession(target, opts, say)
    failed = True
    t0 = time.monotonic()
    try:
        session.provision(f"sealer-build-{build_id}"[:63])
        session.deliver_base(store.root, base_ref)
        hooks = ClusterHooks(run_step=session.run_step, before_cache=session.before_cache)
        result = build(replace(opts, cluster_hooks=hooks), store, reporter)
        failed = False
        return result
    finally:
        session.teardown(failed)
        times = ", ".join(f"{k} {v:.1f}s" for k, v in session.times.items())
        say(f"cluster build phases: {times} (total {time.monotonic() - t0:.1f}s)")
