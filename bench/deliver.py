"""Deliver a 1 GiB rootfs (800 MB of it registry/) to 3 test hosts with sealer's delivery engine, side by side
in one run with the baseline `tar -c ROOTFS | ssh HOST tar -x` of the whole rootfs to each host one after
another; print both times, the ratio (target <= 0.4) and sealer's per-phase times.

The rootfs is generated (registry/ blobs random like gzip layers, in the registry's layout
`blobs/sha256/<hh>/<hex>/data` named by their digest, the rest base64 text that compresses like binaries do), plus the test base's bin/ (kubeadm/kubelet TEST FIXTURES, not Kubernetes) and scripts/, so
every phase runs: send, render, hosts, init (containerd), registry, mirror, kubeadm, cmds. The hosts are
tests/helpers/testhosts.py hosts (sshd per host in its own mount namespace); everything is removed at the end.

    .venv/bin/python bench/deliver.py [--mb 1024] [--registry-mb 800] [--rounds 3] [--compress] [--workdir D]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from deliver.images import base_context  # noqa: E402
from helpers.testhosts import HostPool  # noqa: E402

from sealer.cluster.clusterfile import SSH  # noqa: E402
from sealer.deliver.cleanup import clean_hosts  # noqa: E402
from sealer.deliver.engine import Delivery  # noqa: E402
from sealer.deliver.ops import cluster_from_flags  # noqa: E402
from sealer.deliver.plan import Plan  # noqa: E402

FILE = 8 * 1024 * 1024


def make_rootfs(root: Path, total_mb: int, registry_mb: int) -> int:
    ctx = base_context(root.parent / "ctx")
    for sub in ("bin", "scripts", "etc"):
        shutil.copytree(ctx / sub, root / sub)
    shutil.copy(ctx / "Metadata", root / "Metadata")
    blobs = root / "registry" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    left = registry_mb * 1024 * 1024
    i = 0
    while left > 0:
        n = min(FILE, left)
        data = os.urandom(n)
        digest = hashlib.sha256(data).hexdigest()
        d = blobs / digest[:2] / digest
        d.mkdir(parents=True, exist_ok=True)
        (d / "data").write_bytes(data)
        left -= n
        i += 1
    left = (total_mb - registry_mb) * 1024 * 1024
    j = 0
    while left > 0:
        n = min(FILE, left)
        d = root / "opt" / f"pkg{j // 8}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file{j}.bin").write_bytes(base64.b64encode(os.urandom(n * 3 // 4))[:n])
        left -= n
        j += 1
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def baseline(pool: HostPool, rootfs: Path) -> float:
    t = time.perf_counter()
    for h in pool.hosts:
        ssh = (f"ssh -i {pool.client_key} -o UserKnownHostsFile={pool.known_hosts} -o StrictHostKeyChecking=no "
               f"-o BatchMode=yes root@{h.address}")
        cmd = (f"tar -C {rootfs} -cf - . | {ssh} 'mkdir -p /var/lib/sealer/baseline && "
               "tar -xf - -C /var/lib/sealer/baseline'")
        subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True)
    return time.perf_counter() - t


def deliver(pool: HostPool, rootfs: Path, compress: bool) -> tuple[float, dict[str, float]]:
    hosts = pool.hosts
    by_ip = {h.address: h.ssh_config for h in hosts}
    cluster = cluster_from_flags("bench", "bench:v1", [hosts[0].address], [h.address for h in hosts[1:]],
                                 SSH(), {"MyVar": "bench"})
    plan = Plan(cluster, "bench:v1", rootfs, cmds=["kubectl version"], cached_images=[])
    t = time.perf_counter()
    summary = asyncio.run(Delivery(plan, by_ip.__getitem__, compress=compress).run())
    took = time.perf_counter() - t
    asyncio.run(clean_hosts([h.address for h in hosts], by_ip.__getitem__, plan.paths, "bench",
                            registry_host=hosts[0].address, domain="sea.hub", port=5000))
    return took, summary.phase_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--registry-mb", type=int, default=800)
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="baseline/sealer pairs, interleaved; the median ratio")
    ap.add_argument("--compress", action="store_true", help="gzip the non-registry/ stream (run --compress)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep-rootfs", action="store_true", help="reuse WORKDIR/rootfs when it exists")
    args = ap.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="sealer-bench-deliver-"))).resolve()
    rootfs = work / "rootfs"
    if not (args.keep_rootfs and rootfs.is_dir()):
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(work / "hosts", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(work / "home")  # known_hosts etc. stay in the work dir
    pool = HostPool(work / "hosts")
    try:
        t = time.perf_counter()
        if rootfs.is_dir():
            size = sum(f.stat().st_size for f in rootfs.rglob("*") if f.is_file())
        else:
            size = make_rootfs(rootfs, args.mb, args.registry_mb)
        print(f"rootfs: {size / 2**20:.0f} MiB ({args.registry_mb} MiB registry/) in {time.perf_counter() - t:.1f}s")
        pool.start(args.hosts)
        print(f"hosts: {', '.join(h.address for h in pool.hosts)}")
        rounds = []
        for n in range(args.rounds):  # interleaved, so a change in the machine's load hits both sides
            base = baseline(pool, work / "rootfs")
            for h in pool.hosts:
                h.exec("rm -rf /var/lib/sealer/baseline")
            print(f"[{n + 1}/{args.rounds}] baseline tar | ssh, hosts one after another: {base:.1f}s")
            ours, phases = deliver(pool, work / "rootfs", args.compress)
            print(f"[{n + 1}/{args.rounds}] sealer run (all phases, hosts in parallel, compress={args.compress}): "
                  f"{ours:.1f}s")
            for phase, secs in phases.items():
                print(f"  {phase:<9} {secs:6.2f}s (slowest host)")
            # the phase maxima may come from different hosts; the rest is connecting (+ the markers and
            # manifest read in the same round trip) and closing
            print(f"  other     {ours - sum(phases.values()):6.2f}s (connect + state read, close; approximate)")
            print(f"  ratio {ours / base:.2f}")
            rounds.append({"baseline_s": round(base, 2), "sealer_s": round(ours, 2), "ratio": round(ours / base, 3),
                           "phases_s": {k: round(v, 2) for k, v in phases.items()}})
        ratios = sorted(r["ratio"] for r in rounds)
        ratio = ratios[len(ratios) // 2]
        print(f"ratio sealer/baseline: {ratio:.2f} (median of {len(rounds)}: {', '.join(f'{r:.2f}' for r in ratios)}; "
              "target <= 0.4)")
        (work / "result.json").write_text(json.dumps({"rootfs_mib": round(size / 2**20), "ratio": ratio,
                                                      "rounds": rounds, "compress": args.compress}, indent=2))
    finally:
        pool.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
