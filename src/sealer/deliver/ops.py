"""The operations behind ``run``, ``apply``, ``join`` and ``delete``: state, image export, hosts diff."""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sealer.cluster.clusterfile import SSH, Cluster, HostGroup
from sealer.deliver import cmdargs, registryauth, state, tls
from sealer.deliver.cleanup import clean_hosts
from sealer.deliver.engine import Delivery, Summary
from sealer.deliver.errors import DeliveryError
from sealer.deliver.launch import check_kube_version, extension_of, launch_commands
from sealer.deliver.plan import DEFAULT_DATA_ROOT, Plan
from sealer.deliver.reporter import LogReporter, Reporter
from sealer.infra import SSHConfig

_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
DEFAULT_CLUSTER = "my-cluster"


def parse_env(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        m = _ENV.match(item)
        if m is None:
            raise DeliveryError(f"-e {item!r}: expected KEY=VALUE with KEY a shell variable name")
        out[m.group(1)] = m.group(2)
    return out


def cluster_from_flags(name: str, image: str, masters: Sequence[str], nodes: Sequence[str], ssh: SSH,
                       env: Mapping[str, str], runtime: str = "containerd",
                       cmd_args: Mapping[str, str] | None = None, cmds: Sequence[str] = (),
                       apps: Sequence[str] | None = None) -> Cluster:
    """The Cluster model ``sealer run`` flags describe (what a Clusterfile would say). ``run`` always chooses
    what master0 runs: ``--cmds``, ``--apps``, else (``cmds`` empty) the image's own launch."""
    if not masters:
        raise DeliveryError("at least one master is needed (-m/--masters)")
    dup = set(masters) & set(nodes)
    if dup:
        raise DeliveryError(f"{', '.join(sorted(dup))} given both as master and as node")
    groups = [HostGroup(tuple(masters), ("master",))]
    if nodes:
        groups.append(HostGroup(tuple(nodes), ("node",)))
    assert runtime in ("docker", "containerd")
    return Cluster(name=name, image=image, env=dict(env), hosts=tuple(groups), ssh=ssh,
                   runtime=runtime, registry_domain="sea.hub", registry_port=5000,  # type: ignore[arg-type]
                   kubeadm_documents=(), file="<flags>", cmd_args=dict(cmd_args or {}),
                   cmds=tuple(cmds), apps=tuple(apps) if apps is not None else None)


def ssh_configs(cluster: Cluster, known_hosts: Path | None = None) -> Any:
    def for_ip(ip: str) -> SSHConfig:
        s = cluster.ssh_for(ip) if ip in cluster.masters + cluster.nodes else cluster.ssh
        return SSHConfig(user=s.user or "root", password=s.passwd, pkey=Path(s.pk) if s.pk else None,
                         pkey_password=s.pk_passwd, port=s.port or 22, known_hosts=known_hosts)
    return for_ip


@dataclass
class ImageContent:
    rootfs: Path
    cmds: list[str]
    cached: list[str]
    base_cmds: list[str]
    extension: Any = None   # sealer.interop.ImageExtension: sealer v0.9 applications and launch
    labels: dict[str, str] = field(default_factory=dict)

    def cmds_with(self, override: Sequence[str] | None, apps: Sequence[str] | None = None) -> list[str]:
        """sealer's guest rule: ``--cmds`` replaces the image's own CMDs (the base image's still run first);
        ``--apps`` launches those applications; else the image's CMDs, or its LAUNCH apps (deliver/launch.py)."""
        return launch_commands(self.cmds, self.base_cmds, self.extension, override, apps)


def _base_cmds(store: Any, info: dict[str, Any]) -> list[str]:
    """The CMDs the image inherited: its base image's (``io.sealer.base-image``), when that is in the store
    and its CMDs are the prefix of the image's."""
    from sealer.images import inspect_image

    cmds = [str(c) for c in info.get("cmds") or []]
    base = str(info.get("baseImage") or "").split("@", 1)[0]
    if not base:
        return []
    try:
        got = [str(c) for c in inspect_image(store, base).get("cmds") or []]
    except Exception:  # noqa: BLE001 - the base is not stored here: every CMD counts as the image's own
        return []
    return got if cmds[:len(got)] == got else []


@contextlib.contextmanager
def exported(store_root: Path, image: str) -> Iterator[ImageContent]:
    """The image's merged rootfs, exported once to a temp dir, with its CMDs and cached image names."""
    from sealer.images import inspect_image
    from sealer.store import Store

    store = Store(store_root)
    info = inspect_image(store, image)
    cached = [str(x.get("reference") or x.get("name") or "") for x in info.get("cachedImages") or []]
    with tempfile.TemporaryDirectory(prefix="sealer-deliver-") as tmp:
        store.export_rootfs(image, Path(tmp))
        yield ImageContent(Path(tmp), [str(c) for c in info.get("cmds") or []], [c for c in cached if c],
                           _base_cmds(store, info), extension_of(info),
                           {str(k): str(v) for k, v in (info.get("labels") or {}).items()})


def _with_hosts(c: Cluster, masters: Sequence[str], nodes: Sequence[str]) -> Cluster:
    """``c`` with these masters and nodes; groups keep their ssh/env for the IPs they still hold."""
    groups: list[HostGroup] = []
    for g in c.hosts:
        keep = tuple(ip for ip in g.ips if ip in (masters if g.is_master else nodes))
        if keep:
            groups.append(replace(g, ips=keep))
    known = {ip for g in groups for ip in g.ips}
    new_m = tuple(ip for ip in masters if ip not in known)
    new_n = tuple(ip for ip in nodes if ip not in known)
    if new_m:
        groups.append(HostGroup(new_m, ("master",)))
    if new_n:
        groups.append(HostGroup(new_n, ("node",)))
    return replace(c, hosts=tuple(groups))


@dataclass
class Result:
    summary: Summary | None
    added: list[str]
    removed: list[str]
    clusterfile: Path | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.summary.to_json() if self.summary else {}
        out["added"] = self.added
        out["removed"] = self.removed
        out["clusterfile"] = str(self.clusterfile) if self.clusterfile else None
        return out


def with_launch(cluster: Cluster, saved: state.Saved | None, cmds: Sequence[str] | None = None,
                apps: Sequence[str] | None = None) -> Cluster:
    """What master0 runs after kubeadm: ``cmds``/``apps`` (flags) over the Clusterfile's ``spec.cmd`` /
    ``spec.appNames`` field by field (sealer v0.9 ``MergeClusterWithFlags``); when neither chooses, the
    cluster's saved choice (what ``run``/``apply`` ran last), so ``join`` and a plain re-apply run the same."""
    if cmds:
        cluster = replace(cluster, cmds=tuple(cmds))
    if apps is not None:
        cluster = replace(cluster, apps=tuple(apps))
    if cluster.cmds is None and cluster.apps is None and saved is not None:
        cluster = replace(cluster, cmds=saved.cluster.cmds, apps=saved.cluster.apps)
    return cluster


def apply(cluster: Cluster, image: str, *, store_root: Path, state_root: Path, data_root: str | None = None,
          cmds: Sequence[str] | None = None, reporter: Reporter | None = None, compress: bool = False,
          apps: Sequence[str] | None = None) -> Result:
    """Make the hosts match ``cluster``: hosts dropped since the last apply are cleaned, every host gets the
    phases it has not done yet (so unchanged hosts only have their markers read). ``cmds``/``apps`` override
    the cluster's ``cmds``/``apps`` (:func:`with_launch`)."""
    rep = reporter or LogReporter()
    saved = state.load(state_root, cluster.name)
    cluster = with_launch(cluster, saved, cmds, apps)
    root = resolve_data_root(data_root, cluster, saved)
    if saved is not None and saved.cluster.masters[0] != cluster.masters[0]:
        raise DeliveryError(f"master0 of {cluster.name} is {saved.cluster.masters[0]}; it cannot change "
                            "(delete the cluster first)")
    if saved is not None and saved.cluster.external_registry != cluster.external_registry:
        was, now_is = (("an external registry", "the image's own registry") if saved.cluster.external_registry
                       else ("the image's own registry", "an external registry"))
        raise DeliveryError(f"{cluster.name} was delivered with {was}; it cannot switch to {now_is} "
                            "(delete the cluster first)")
    if saved is not None and saved.cluster.registry_access.ha != cluster.registry_access.ha:
        raise DeliveryError(f"{cluster.name} was delivered with localRegistry.ha: "
                            f"{str(saved.cluster.registry_access.ha).lower()}; it cannot change "
                            "(delete the cluster first)")
    before = set(saved.cluster.masters + saved.cluster.nodes) if saved else set()
    now = cluster.masters + cluster.nodes
    removed = [ip for ip in (saved.cluster.masters + saved.cluster.nodes if saved else []) if ip not in now]
    added = [ip for ip in now if ip not in before]
    with exported(store_root, image) as content:
        check_kube_version(content.labels, content.rootfs, image)
        if cluster.cmds and cluster.apps:
            rep.note(f"apps {','.join(cluster.apps)}: not launched, the chosen CMDs run instead (sealer v0.9: "
                     "cmd wins over appNames)")
        launch = content.cmds_with(list(cluster.cmds) if cluster.cmds else None,
                                   list(cluster.apps) if cluster.apps is not None else None)
        run_cmds = cmdargs.render(launch, cluster.cmd_args)   # a bad CMD argument stops here, before any host
        for name in cmdargs.unused(launch, cluster.cmd_args):
            rep.note(f"cmd arg {name}: no CMD refers to ${name} or ${{{name}}}")
        if removed:
            assert saved is not None
            rep.note(f"removing {', '.join(removed)} from {cluster.name}")
            _clean(saved.cluster, removed, root, rep, delete_nodes=True)
            state.save(state_root, _with_hosts(saved.cluster, [m for m in saved.cluster.masters if m not in removed],
                                               [n for n in saved.cluster.nodes if n not in removed]), image, root)
        plan = Plan(cluster, image, content.rootfs, root, run_cmds, content.cached,
                    auth=registryauth.prepare(state_root, cluster),
                    tls=tls.prepare(state_root, cluster, cluster.masters[0]))
        summary = asyncio.run(Delivery(plan, ssh_configs(cluster), rep, compress=compress).run())
    path = state.save(state_root, cluster, image, root)
    return Result(summary, added, removed, path)


def resolve_data_root(flag: str | None, cluster: Cluster, saved: state.Saved | None) -> str:
    """``--data-root``, else the Clusterfile's ``spec.dataRoot``, else the one the cluster was delivered to,
    else the default; it cannot change for a delivered cluster (its files are there)."""
    from sealer.cluster.clusterfile import data_root_problem

    if flag is not None:
        problem = data_root_problem(flag)
        if problem:
            raise DeliveryError(f"--data-root: {problem}")
        flag = flag.rstrip("/")
    root = flag or cluster.data_root or (saved.data_root if saved else DEFAULT_DATA_ROOT)
    if saved is not None and root.rstrip("/") != saved.data_root.rstrip("/"):
        raise DeliveryError(f"{cluster.name} was delivered to data root {saved.data_root}; it cannot change to "
                            f"{root} (delete the cluster first)")
    return root


def _clean(cluster: Cluster, hosts: Sequence[str], data_root: str, rep: Reporter, *,
           delete_nodes: bool = False) -> None:
    from sealer.deliver.plan import HostPaths
    from sealer.deliver.scaledown import delete_nodes as kubectl_delete

    paths = HostPaths(f"{data_root.rstrip('/')}/{cluster.name}")
    if delete_nodes:  # scale-down: master0 stays; Kubernetes forgets the nodes before they are reset
        asyncio.run(kubectl_delete(cluster.masters[0], [h for h in hosts if h != cluster.masters[0]],
                                   ssh_configs(cluster), paths, rep))
    asyncio.run(clean_hosts(list(hosts), ssh_configs(cluster), paths, cluster.name,
                            registry_host="" if cluster.external_registry else cluster.masters[0],
                            registry_hosts=cluster.registry_hosts,
                            domain=cluster.registry_domain,
                            port=cluster.registry_port, reporter=rep))


def load_saved(state_root: Path, name: str | None) -> state.Saved:
    cname = state.only_cluster(state_root, name)
    saved = state.load(state_root, cname)
    if saved is None:
        raise DeliveryError(f"no cluster {cname!r} in {state_root}")
    return saved


def join(state_root: Path, name: str | None, masters: Sequence[str], nodes: Sequence[str], *, store_root: Path,
         reporter: Reporter | None = None) -> Result:
    saved = load_saved(state_root, name)
    c = saved.cluster
    new = _with_hosts(c, [*c.masters, *[m for m in masters if m not in c.masters]],
                      [*c.nodes, *[n for n in nodes if n not in c.nodes]])
    return apply(new, saved.image, store_root=store_root, state_root=state_root, data_root=saved.data_root,
                 reporter=reporter)


def delete_hosts(state_root: Path, name: str | None, masters: Sequence[str], nodes: Sequence[str],
                 reporter: Reporter | None = None) -> Result:
    saved = load_saved(state_root, name)
    c = saved.cluster
    gone = [ip for ip in [*masters, *nodes] if ip in c.masters + c.nodes]
    unknown = [ip for ip in [*masters, *nodes] if ip not in gone]
    if unknown:
        raise DeliveryError(f"{', '.join(unknown)} not in cluster {c.name}")
    if c.masters[0] in gone:
        raise DeliveryError(f"{c.masters[0]} is master0: use `sealer delete --all` to delete the whole cluster")
    _clean(c, gone, saved.data_root, reporter or LogReporter(), delete_nodes=True)
    new = _with_hosts(c, [m for m in c.masters if m not in gone], [n for n in c.nodes if n not in gone])
    path = state.save(state_root, new, saved.image, saved.data_root)
    return Result(None, [], gone, path)


def delete_all(state_root: Path, name: str | None, reporter: Reporter | None = None) -> Result:
    saved = load_saved(state_root, name)
    c = saved.cluster
    hosts = [*c.nodes, *c.masters[1:], c.masters[0]]
    _clean(c, hosts, saved.data_root, reporter or LogReporter())
    registryauth.forget(state_root, c.name)
    tls.forget(state_root, c.name)
    state.forget(state_root, c.name)
    return Result(None, [], hosts, None)
