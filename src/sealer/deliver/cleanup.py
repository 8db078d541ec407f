"""``sealer delete``: undo a delivery on hosts, idempotently.

Per host, in sealer's order (runtime reset, then the filesystem's clean-up): ``kubeadm reset -f`` (the
image's ``bin/kubeadm``), on the registry host ``scripts/clean-registry.sh`` when the image has one and
our registry processes stopped by their recorded PIDs, ``scripts/clean.sh``, then our ``/etc/hosts``
lines, our containerd ``hosts.toml`` files (a file we displaced is put back), docker's ``daemon.json``
as it was, and the cluster's data directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from shlex import quote

from sealer.deliver import registryauth, steps, tls
from sealer.deliver.errors import DeliveryError
from sealer.deliver.plan import HostPaths
from sealer.deliver.reporter import LogReporter, Reporter
from sealer.infra import HostError, SSHConfig, connect


def clean_script(paths: HostPaths, cluster: str, *, registry: bool, domain: str, port: int) -> str:
    r, m = quote(paths.rootfs), quote(paths.meta)
    lines = [
        f'if [ -x {r}/bin/kubeadm ]; then (export PATH={r}/bin:"$PATH"; kubeadm reset -f) || '
        'echo "kubeadm reset failed (continuing)" >&2; fi',
    ]
    if registry:
        lines.append(f"if [ -f {r}/scripts/clean-registry.sh ]; then (cd {r}/scripts && bash clean-registry.sh "
                     f"{port} {r}/registry {quote(domain)}) || echo 'clean-registry.sh failed (continuing)' >&2; fi")
    lines += [
        f'for p in {m}/registry/*.pid; do [ -f "$p" ] || continue; pid=$(cat "$p"); kill "$pid" 2>/dev/null || true;'
        ' for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done;'
        ' kill -9 "$pid" 2>/dev/null || true; done',
        f"if [ -f {r}/scripts/clean.sh ]; then (cd {r}/scripts && bash clean.sh) || "
        "echo 'clean.sh failed (continuing)' >&2; fi",
        steps.unhosts_script(cluster).rstrip(),
        tls.clean_script(cluster).rstrip(),
        steps.unmirror_script(cluster).rstrip(),
        registryauth.clean_script(cluster).rstrip(),
        f'if [ -f {m}/docker-daemon.json.orig ]; then if [ -s {m}/docker-daemon.json.orig ]; then '
        f'cat {m}/docker-daemon.json.orig > {steps.DOCKER_DAEMON}; else rm -f {steps.DOCKER_DAEMON}; fi; fi',
        f"rm -rf {quote(paths.cluster_dir)}",
        f"rmdir {quote(paths.cluster_dir.rsplit('/', 1)[0])} 2>/dev/null || true",
    ]
    return "\n".join(lines) + "\n"


async def clean_hosts(hosts: Sequence[str], ssh_for: Callable[[str], SSHConfig], paths: HostPaths, cluster: str,
                      *, registry_host: str, domain: str, port: int,
                      reporter: Reporter | None = None, registry_hosts: Sequence[str] = ()) -> dict[str, str]:
    """Clean every host in parallel; returns ``{host: "done" | error}``; raises when any host failed.
    ``registry_host`` and ``registry_hosts`` (with ``localRegistry.ha``, every master) ran the registry."""
    rep = reporter or LogReporter()

    async def one(ip: str) -> None:
        rep.phase_started(ip, "delete")
        t = time.monotonic()
        try:
            h = await connect(ip, ssh_for(ip))
        except HostError as e:
            rep.phase_failed(ip, "delete", str(e))
            raise DeliveryError(str(e).removeprefix(f"{ip}: "), host=ip, phase="delete") from None
        try:
            res = await h.run("bash -s", input=(clean_script(paths, cluster, registry=ip == registry_host or ip in registry_hosts,
                                                            domain=domain, port=port)).encode(),
                              check=False, timeout=600)
        finally:
            await h.close()
        if res.exit_code != 0:
            rep.phase_failed(ip, "delete", res.tail())
            raise DeliveryError(f"clean-up exited with {res.exit_code}", host=ip, phase="delete", tail=res.tail())
        rep.phase_done(ip, "delete", skipped=False, seconds=time.monotonic() - t,
                       detail=res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "")

    results = await asyncio.gather(*(one(ip) for ip in hosts), return_exceptions=True)
    out: dict[str, str] = {}
    errors: list[BaseException] = []
    for ip, r in zip(hosts, results, strict=True):
        if isinstance(r, BaseException):
            if not isinstance(r, Exception):
                raise r
            errors.append(r)
            out[ip] = str(r)
        else:
            out[ip] = "done"
    if errors:
        raise errors[0]
    return out
