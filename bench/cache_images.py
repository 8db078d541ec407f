"""Benchmark: cache 20 generated images (BENCH_MB in all, default 1024; some shared layers) from a local
registry, three ways, and print the ratios and sealer's peak RSS.

    BENCH_MB=300 .venv/bin/python bench/cache_images.py

1. sealer ``cache_images`` into a fresh store: pull (concurrent, streamed, verified) + write the
   deterministic registry-layout layers (what a lite build does);
2. ``skopeo copy`` of the images one by one into a second docker-registry (``--preserve-digests``);
3. ``skopeo sync`` of the same set to a ``dir:`` destination.
Targets (issue 17): sealer <= 0.3 x the faster skopeo; peak RSS < 300 MB. Each run is a separate process
(RSS measured with wait4), timed from a synced page cache until its output is synced to disk (the setup's
writes would otherwise still be flushing during the first measured run). Setup is not timed.

Second workload (issue 17, ``BENCH_WORKLOAD=lite``; default ``both``): 12 images x 16 MiB (one layer each). The
whole ``sealer build -b lite`` process (start-up included; a Kubefile whose imageList names the 12 images) is timed
against ``skopeo copy`` of the same 12 images one by one into a second registry. Also reported: cached bytes/s of
``cache_images`` in-process against single-thread ``hashlib.sha256`` throughput measured in the same run (target
>= 60%), and peak RSS. Next to it, the *floor* of the design on this machine: the same blobs fetched by a few lines
of stdlib code (``--floor``: GET, the two SHA-256 passes every byte needs — the blob's digest and the layer's —,
one write, fsync) on the same 8 threads, and the CPU the source registry spent serving sealer (it shares the
cores). Targets: build <= 0.35 x the copy loop. ``BENCH_ROUNDS`` (default 3) interleaved rounds of
build / copy loop / cache_images / sha256; the medians are the figures. CPU time (user + system) of every process
is printed next to its wall time: on a shared machine it moves much less than wall time.

The sealer tree is byte-compiled first, as an installed package is (this environment may set
PYTHONDONTWRITEBYTECODE, which would otherwise compile every module from source in every sealer process).

``BENCH_BASELINE_SRC=/path/to/other/checkout/src``: every sealer measurement is also made with that tree's code
(same interpreter and packages, ``PYTHONPATH``), interleaved with the others: before/after in one run.
"""

from __future__ import annotations

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

N_IMAGES = 20


CPU: dict[str, float] = {}   # CPU seconds (user + system) of the last _run, by the program's name


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run a process; return (seconds, peak RSS bytes, stdout). Timed from a clean page cache state (sync
    before) until its data is durable (sync after): sealer fsyncs what it stores, a registry and skopeo's
    dir: destination do not, so "done" means "on disk" for every tool alike. The process's CPU time (user +
    system, which a loaded machine disturbs less than wall time) is left in ``CPU[args[0]]``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errf:
        os.sync()
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=out, stderr=errf, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        os.sync()
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        CPU[Path(args[0]).name] = usage.ru_utime + usage.ru_stime
        out.seek(0)
        errf.seek(0)
        if p.returncode:
            raise RuntimeError(f"{args[0]} failed: {errf.read().decode()[-2000:]}")
        return dt, int(usage.ru_maxrss) * 1024, out.read().decode()


def child(host: str, names: list[str], root: str, parallel: int) -> None:
    import logging
    import resource

    from sealer import reference
    from sealer.imagecache.cache import cache_images
    from sealer.oci.model import Platform
    from sealer.registry import RegistryClient, RegistryOptions
    from sealer.store import Store

    class _Count(logging.Handler):
        """Records the library's logs at INFO and above but the progress lines: resumed downloads and layers
        that fell back from streaming explain an outlier run."""

        def __init__(self) -> None:
            super().__init__(logging.INFO)
            self.seen: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith("sealer.") and record.name != "sealer.progress" and record.levelno >= logging.INFO:
                self.seen.append(record.getMessage()[:200])
    counter = _Count()
    logging.getLogger("sealer").addHandler(counter)
    logging.getLogger("sealer").setLevel(logging.INFO)
    refs = [(reference.parse(f"{host}/{n}"), ["bench"]) for n in names]
    c0 = os.times()
    t0 = time.perf_counter()
    with RegistryClient(RegistryOptions(use_mirrors=False, max_parallel=parallel)) as client:
        res = cache_images(refs, store=Store(root), client=client, platforms=[Platform.parse("linux/amd64")],
                           workdir=Path(root), max_parallel=parallel, progress=False)
    dt = time.perf_counter() - t0
    c1 = os.times()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": dt, "rss": rss, "layers": len(res.layers), "fetched": res.fetched_bytes,
                      "cpu": c1.user + c1.system - c0.user - c0.system, "user": c1.user - c0.user,
                      "system": c1.system - c0.system, "events": counter.seen}))


def floor_child(host: str, names: list[str], out_dir: str, parallel: int) -> None:
    """The floor of this design on this machine, no sealer code: every blob of ``names`` fetched with stdlib
    ``http.client`` on ``parallel`` threads, 1 MiB reads, hashed twice (the blob's digest, checked, and a
    second running hash standing for the layer's), written once, writeback started every 8 MiB and fsynced.
    What it leaves out (manifests, tar headers, the store's rename and lock, memos) is what sealer adds."""
    import hashlib
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    h, port = host.split(":")
    accept = "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"

    def get(path: str) -> bytes:
        c = http.client.HTTPConnection(h, int(port))
        c.request("GET", path, headers={"Accept": accept})
        body = c.getresponse().read()
        c.close()
        return body

    c0 = os.times()
    t0 = time.perf_counter()
    blobs = []
    for n in names:
        repo, tag = n.rsplit(":", 1)
        for layer in json.loads(get(f"/v2/{repo}/manifests/{tag}"))["layers"]:
            blobs.append((f"/v2/{repo}/blobs/{layer['digest']}", layer["digest"], layer["size"]))

    def one(blob: tuple[str, str, int]) -> int:
        path, digest, size = blob
        c = http.client.HTTPConnection(h, int(port))
        c.request("GET", path)
        r = c.getresponse()
        h1, h2 = hashlib.sha256(), hashlib.sha256()
        fd = os.open(os.path.join(out_dir, digest[7:]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        done = advised = 0
        while chunk := r.read1(1 << 20):
            h1.update(chunk)
            h2.update(chunk)
            os.write(fd, chunk)
            done += len(chunk)
            if done - advised >= 8 << 20:
                os.posix_fadvise(fd, advised, done - advised, os.POSIX_FADV_DONTNEED)
                advised = done
        os.fsync(fd)
        os.close(fd)
        c.close()
        if "sha256:" + h1.hexdigest() != digest or done != size:
            raise SystemExit(f"floor: {digest} did not verify")
        return size

    with ThreadPoolExecutor(parallel) as pool:
        total = sum(pool.map(one, blobs))
    dt = time.perf_counter() - t0
    c1 = os.times()
    print(json.dumps({"seconds": dt, "fetched": total, "cpu": c1.user + c1.system - c0.user - c0.system}))


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _baseline_env() -> dict[str, str] | None:
    src = os.environ.get("BENCH_BASELINE_SRC")
    return {**os.environ, "PYTHONPATH": src} if src else None


def sha256_mb_s(total: int = 512 << 20, chunk: int = 1 << 20) -> float:
    """Single-thread hashlib.sha256 throughput over 1 MiB buffers, MB/s (best of 3)."""
    import hashlib

    buf = os.urandom(chunk)
    best = 0.0
    for _ in range(3):
        h = hashlib.sha256()
        t0 = time.perf_counter()
        for _ in range(total // chunk):
            h.update(buf)
        best = max(best, total / (time.perf_counter() - t0) / 1e6)
    return best


def lite_workload() -> None:
    """12 images x 16 MiB: the whole `sealer build -b lite` process vs a `skopeo copy` loop, interleaved rounds
    (BENCH_ROUNDS, default 3) in the same run; the median ratio is the figure."""
    import statistics

    from helpers.registry import push_test_image, start_registry

    n = int(os.environ.get("BENCH_LITE_IMAGES", "12"))
    size = int(os.environ.get("BENCH_LITE_MB", "16")) << 20
    rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
    work = Path(tempfile.mkdtemp(prefix="sealer-bench-lite-"))
    rows: list[dict[str, float]] = []
    try:
        src = start_registry(work / "src")
        try:
            names = [f"side/op{i}:v1" for i in range(n)]
            for i, name in enumerate(names):
                push_test_image(src, name, [size], seed=700 + i)
            ctx = work / "ctx"
            ctx.mkdir()
            (ctx / "imageList").write_text("".join(f"{src.ref(x)}\n" for x in names))
            (ctx / "Kubefile").write_text("FROM scratch\nCOPY imageList manifests\n")
            sealer = str(Path(sys.executable).with_name("sealer"))
            base_env = _baseline_env()
            for r in range(rounds):
                env = {**os.environ, "SEALER_STATE_DIR": str(work / f"state{r}")}
                t_build, rss_build, _ = _run([sealer, "--root", str(work / f"root{r}"), "build", "-b", "lite",
                                              "-q", "-t", "bench/lite:v1", str(ctx)], env=env)
                cpu_build = CPU["sealer"]
                base: dict[str, float] = {}
                if base_env is not None:
                    base["build"], _, _ = _run([sealer, "--root", str(work / f"broot{r}"), "build", "-b", "lite",
                                                "-q", "-t", "bench/lite:v1", str(ctx)],
                                               env={**base_env, "SEALER_STATE_DIR": str(work / f"bstate{r}")})
                    base["cpu_build"] = CPU["sealer"]
                    shutil.rmtree(work / f"broot{r}", ignore_errors=True)
                t_copy = cpu_copy = 0.0
                rss_copy = 0
                dst = start_registry(work / f"dst{r}")  # empty each round: a registry holding the blobs skips them
                try:
                    for x in names:
                        dt, rss, _ = _run(["skopeo", "copy", "--quiet", "--preserve-digests",
                                           "--src-tls-verify=false", "--dest-tls-verify=false",
                                           f"docker://{src.ref(x)}", f"docker://{dst.ref(x)}"])
                        t_copy += dt
                        cpu_copy += CPU["skopeo"]
                        rss_copy = max(rss_copy, rss)
                finally:
                    dst.stop()
                    shutil.rmtree(work / f"dst{r}", ignore_errors=True)
                reg0 = _cpu_of(src.proc.pid)
                t_cache, rss_cache, out = _run([sys.executable, __file__, "--child", src.host,
                                                str(work / f"store{r}"), "8", *names])
                reg_cpu = _cpu_of(src.proc.pid) - reg0
                info = json.loads(out.strip().splitlines()[-1])
                (work / f"floor{r}").mkdir()
                _, _, fout = _run([sys.executable, __file__, "--floor", src.host, str(work / f"floor{r}"), "8",
                                   *names])
                shutil.rmtree(work / f"floor{r}", ignore_errors=True)
                finfo = json.loads(fout.strip().splitlines()[-1])
                if base_env is not None:
                    _, _, bout = _run([sys.executable, __file__, "--child", src.host, str(work / f"bstore{r}"), "8",
                                       *names], env=base_env)
                    binfo = json.loads(bout.strip().splitlines()[-1])
                    base["rate"] = binfo["fetched"] / binfo["seconds"] / 1e6
                    base["cache_cpu"] = binfo["cpu"]
                    shutil.rmtree(work / f"bstore{r}", ignore_errors=True)
                sha = sha256_mb_s()
                rate = info["fetched"] / info["seconds"] / 1e6
                floor = finfo["fetched"] / finfo["seconds"] / 1e6
                rows.append({"floor": floor, "floor_cpu": finfo["cpu"], "floor_ratio": floor / sha, "reg_cpu": reg_cpu,
                             "build": t_build, "copy": t_copy, "ratio": t_build / t_copy, "cpu_build": cpu_build,
                             "cpu_copy": cpu_copy, "rss_build": rss_build, "rss_copy": rss_copy,
                             "cache_s": info["seconds"], "rate": rate, "sha": sha, "rate_ratio": rate / sha,
                             "cache_cpu": info["cpu"], "rss_cache": rss_cache,
                             **{f"base_{k}": v for k, v in base.items()}})
                shutil.rmtree(work / f"root{r}", ignore_errors=True)
                shutil.rmtree(work / f"store{r}", ignore_errors=True)
        finally:
            src.stop()
        mb = n * size / 1e6
        print(f"lite workload: {n} images x {size >> 20} MiB ({mb:.0f} MB), {rounds} interleaved round(s), "
              f"load average {os.getloadavg()[0]:.1f}")
        for i, x in enumerate(rows):
            print(f"  round {i + 1}: sealer build -b lite (whole process) {x['build']:5.2f}s (CPU {x['cpu_build']:.2f}s,"
                  f" RSS {int(x['rss_build']) >> 20} MB) | skopeo copy x{n} {x['copy']:5.2f}s (CPU {x['cpu_copy']:.2f}s)"
                  f" | ratio {x['ratio']:.2f}")
            print(f"           cache_images in-process {x['cache_s']:.3f}s = {x['rate']:5.0f} MB/s (CPU "
                  f"{x['cache_cpu']:.2f}s, RSS {int(x['rss_cache']) >> 20} MB) | single-thread sha256 "
                  f"{x['sha']:5.0f} MB/s | ratio {x['rate_ratio']:.2f}")
            print(f"           floor (stdlib: GET + 2 x sha256 + write + fsync, 8 threads) {x['floor']:5.0f} MB/s (CPU "
                  f"{x['floor_cpu']:.2f}s) = {x['floor_ratio']:.2f} of sha256 | sealer / floor "
                  f"{x['rate'] / x['floor']:.2f} | the source registry's CPU while sealer cached: {x['reg_cpu']:.2f}s")
            if "base_build" in x:
                print(f"           baseline: build {x['base_build']:5.2f}s (CPU {x['base_cpu_build']:.2f}s) ratio "
                      f"{x['base_build'] / x['copy']:.2f} | cache_images {x['base_rate']:5.0f} MB/s (CPU "
                      f"{x['base_cache_cpu']:.2f}s) ratio {x['base_rate'] / x['sha']:.2f}")
        med = statistics.median
        if "base_build" in rows[0]:
            print(f"baseline ({os.environ['BENCH_BASELINE_SRC']}) medians: build / copy loop "
                  f"{med(x['base_build'] / x['copy'] for x in rows):.2f}, rate / sha256 "
                  f"{med(x['base_rate'] / x['sha'] for x in rows):.2f}")
        print(f"median ratio build / copy loop: {med(x['ratio'] for x in rows):.2f} (target <= 0.35)")
        print(f"median floor rate / sha256: {med(x['floor_ratio'] for x in rows):.2f}; sealer / floor "
              f"{med(x['rate'] / x['floor'] for x in rows):.2f}")
        print(f"median cache_images rate / sha256: {med(x['rate_ratio'] for x in rows):.2f} (target >= 0.60); "
              f"peak RSS {max(max(x['rss_build'], x['rss_cache']) for x in rows) / (1 << 20):.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    import compileall

    from helpers.registry import skopeo, start_registry

    import sealer

    # byte-compiled first, as an installed package is (the environment may set PYTHONDONTWRITEBYTECODE, which
    # would otherwise compile every module from source in every sealer process)
    for tree in [Path(sealer.__file__).parent, *([Path(b) / "sealer"] if (b := os.environ.get("BENCH_BASELINE_SRC"))
                                                 else [])]:
        compileall.compile_dir(str(tree), quiet=1)
    workload = os.environ.get("BENCH_WORKLOAD", "both")
    if workload in ("lite", "both"):
        lite_workload()
    if workload == "lite":
        return

    total = int(os.environ.get("BENCH_MB", "1024")) << 20
    parallel = int(os.environ.get("BENCH_PARALLEL", "8"))
    work = Path(tempfile.mkdtemp(prefix="sealer-bench-"))
    try:
        src = start_registry(work / "src")
        dst = start_registry(work / "dst")
        try:
            # 4 groups of 5 images; each group shares a base layer (a quarter of every image's bytes)
            per_image = total // N_IMAGES
            names = [f"bench/img{i}:v1" for i in range(N_IMAGES)]
            t0 = time.perf_counter()
            for i in range(N_IMAGES):
                layout = work / "layouts" / f"img{i}"
                _write_shared(layout, i, per_image)
                skopeo("copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false",
                       f"oci:{layout}:v1", f"docker://{src.ref(names[i])}")
            print(f"setup: {N_IMAGES} images, {total >> 20} MB in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

            root = work / "store"
            t_sealer, rss_sealer, out = _run([sys.executable, __file__, "--child", src.host, str(root),
                                              str(parallel), *names])
            cpu_sealer = CPU[Path(sys.executable).name]
            info = json.loads(out.strip().splitlines()[-1])
            base_env = _baseline_env()
            if base_env is not None:
                t_base, rss_base, _ = _run([sys.executable, __file__, "--child", src.host, str(work / "bstore"),
                                            str(parallel), *names], env=base_env)
                cpu_base = CPU[Path(sys.executable).name]
                shutil.rmtree(work / "bstore", ignore_errors=True)
            t_copy = cpu_copy = 0.0
            rss_copy = 0
            for n in names:
                dt, rss, _ = _run(["skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
                                   "--dest-tls-verify=false", f"docker://{src.ref(n)}", f"docker://{dst.ref(n)}"])
                t_copy += dt
                cpu_copy += CPU["skopeo"]
                rss_copy = max(rss_copy, rss)
            spec = work / "sync.yml"
            spec.write_text(json.dumps({src.host: {"tls-verify": False, "images": {
                n.split(":")[0]: [n.split(":")[1]] for n in names}}}))
            t_sync, rss_sync, _ = _run(["skopeo", "sync", "--src", "yaml", "--dest", "dir", "--scoped",
                                        str(spec), str(work / "sync")])
        finally:
            src.stop()
            dst.stop()
        mb = total / (1 << 20)
        faster = min(t_copy, t_sync)
        print(f"images: {N_IMAGES}, {mb:.0f} MB, max-parallel {parallel}, load average {os.getloadavg()[0]:.1f}")
        print(f"sealer cache_images : {t_sealer:6.2f}s  {mb / t_sealer:7.1f} MB/s  peak RSS {rss_sealer >> 20} MB "
              f"({info['layers']} layers, in-process {info['seconds']:.2f}s: user {info['user']:.2f}s, system "
              f"{info['system']:.2f}s; process CPU {cpu_sealer:.2f}s)")
        for event in info.get("events", []):
            print(f"  sealer logged: {event}")
        print(f"skopeo copy x{N_IMAGES}    : {t_copy:6.2f}s  {mb / t_copy:7.1f} MB/s  peak RSS {rss_copy >> 20} MB "
              f"(CPU {cpu_copy:.2f}s)")
        print(f"skopeo sync -> dir  : {t_sync:6.2f}s  {mb / t_sync:7.1f} MB/s  peak RSS {rss_sync >> 20} MB")
        print(f"ratio sealer / faster skopeo: {t_sealer / faster:.2f} (target <= 0.3); "
              f"sealer / copy {t_sealer / t_copy:.2f}, sealer / sync {t_sealer / t_sync:.2f}")
        if base_env is not None:
            print(f"baseline ({os.environ['BENCH_BASELINE_SRC']}): {t_base:6.2f}s (CPU {cpu_base:.2f}s, peak RSS "
                  f"{rss_base >> 20} MB); ratio / faster skopeo {t_base / faster:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_shared(layout: Path, i: int, per_image: int) -> None:
    """An image whose first layer is shared by its group of 5 (identical bytes), then two unique layers."""
    import hashlib

    from helpers.registry_images import write_oci_layout as w

    group_layout = layout.parent / f"group{i // 5}"
    base = per_image // 4
    if not (group_layout / "index.json").exists():
        w(group_layout, "base", [base], seed=5000 + i // 5)
    gidx = json.loads((group_layout / "index.json").read_text())["manifests"][0]
    gman = json.loads((group_layout / "blobs/sha256" / gidx["digest"][7:]).read_text())
    gcfg = json.loads((group_layout / "blobs/sha256" / gman["config"]["digest"][7:]).read_text())
    img = w(layout, "v1", [per_image - base - per_image // 8, per_image // 8], seed=9000 + i)
    man = json.loads(img.raw)
    cfg = json.loads((layout / "blobs/sha256" / man["config"]["digest"][7:]).read_text())
    shared = gman["layers"][0]
    shutil.copy(group_layout / "blobs/sha256" / shared["digest"][7:], layout / "blobs/sha256" / shared["digest"][7:])
    cfg["rootfs"]["diff_ids"] = gcfg["rootfs"]["diff_ids"] + cfg["rootfs"]["diff_ids"]
    cfg["history"] = gcfg["history"] + cfg["history"]
    craw = json.dumps(cfg, sort_keys=True).encode()
    cd = hashlib.sha256(craw).hexdigest()
    (layout / "blobs/sha256" / cd).write_bytes(craw)
    man["config"] = {**man["config"], "digest": "sha256:" + cd, "size": len(craw)}
    man["layers"] = [shared, *man["layers"]]
    mraw = json.dumps(man, indent=2).encode()
    md = hashlib.sha256(mraw).hexdigest()
    (layout / "blobs/sha256" / md).write_bytes(mraw)
    idx = {"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": "sha256:" + md,
                                              "size": len(mraw),
                                              "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
    (layout / "index.json").write_text(json.dumps(idx))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[5:], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--floor":
        floor_child(sys.argv[2], sys.argv[5:], sys.argv[3], int(sys.argv[4]))
    else:
        main()
