"""Run the delivery phases on the hosts; each phase is idempotent and marked done on its host.

Phases (sealer v0.8's order per host, docs/delivery.md):

1. every host, back to back: ``send`` (rootfs; ``registry/`` only to the registry host), ``render``
   (``*.tmpl``), ``hosts`` (/etc/hosts: sea.hub, apiserver.cluster.local), ``init`` (the image's
   ``scripts/init.sh``), on the registry host (master0) ``registry`` (``scripts/init-registry.sh``, or the stock
   docker-distribution), ``mirror`` (containerd certs.d / docker daemon.json);
2. master0: ``kubeadm`` (``init --config --upload-certs``); 3. other hosts: ``kubeadm`` (``join``);
4. master0: ``cmds`` (the image's CMDs, base image's first).

Hosts go in parallel, each as far as its dependencies allow: master0 runs ``kubeadm init`` as soon as its own
phases are done, another host joins when its phases are done and master0's join command is known, the CMDs
run when every other host is done. A failing host stops the hosts that wait for it; the others finish what
they can (and mark it), and the delivery stops with the failing host, phase and stderr tail. SSH sessions are
the cost here, not the phases' work (each new session starts the login shell on the host): a host has ONE
remote shell for the whole delivery (:class:`_HostSession`), to which each phase is sent when it can run and
which writes the phase's marker right after the phase's work. The rootfs goes in OpenSSH streams of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from shlex import quote
from typing import Any

from sealer.cluster.gotemplate import GoTemplateEngine
from sealer.cluster.kubeadm import HostKubeadmConfig, kubeadm_config
from sealer.cluster.registry_config import load_registry_config
from sealer.cluster.registry_proxy import (
    DEFAULT_PROXY_BASE_PORT,
    render_containerd_hosts,
    render_distribution_configs,
)
from sealer.deliver import imagerepo, manifest, registryauth, steps, tls
from sealer.deliver.errors import DeliveryError
from sealer.deliver.markers import inputs_hash, parse_markers, write_markers
from sealer.deliver.plan import Plan
from sealer.deliver.render import render_all
from sealer.deliver.reporter import LogReporter, Reporter
from sealer.errors import SealerError
from sealer.infra import Host, HostCommandError, HostError, SSHConfig, connect, redact
from sealer.reference import parse as parse_ref

PHASES = ("send", "render", "hosts", "init", "registry", "mirror", "auth", "kubeadm", "cmds")
KUBEADM_TIMEOUT = 900.0
# stand-ins for master0's join credentials in join configs rendered ahead of kubeadm init (valid formats)
PLACEHOLDER_JOIN = {"token": "zzzzzz.zzzzzzzzzzzzzzzz", "caCertHash": "sha256:" + "f0" * 32}
STREAM_BYTES = 256 << 20  # registry/ is cut into streams of about this size, at most MAX_STREAMS of them
MAX_STREAMS = 4


@dataclass
class PhaseResult:
    host: str
    phase: str
    status: str  # done | skipped (done before) | n/a (nothing to do for this image) | failed
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Step:
    """A phase's remote work inside a session: ``files`` (path, bytes, mode) written atomically, then
    ``script`` (bash, ``set -e``); its marker is written by the same session after the work succeeded (not
    when ``mark`` is False: the caller finishes the phase with another step). ``t0``: when the phase began,
    for work done before the session (send's tar streams)."""

    phase: str
    key: str
    script: str
    detail: str
    files: list[tuple[str, bytes, int]] = field(default_factory=list)
    mark: bool = True
    t0: float | None = None


class _Stopped(Exception):
    """A host's work stopped because another host failed (that host's error is the one reported)."""


@dataclass
class Summary:
    cluster: str
    image: str
    results: list[PhaseResult] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        hosts: dict[str, dict[str, Any]] = {}
        for r in self.results:
            hosts.setdefault(r.host, {})[r.phase] = {"status": r.status, "seconds": round(r.seconds, 3),
                                                      **({"detail": r.detail} if r.detail else {})}
        return {"cluster": self.cluster, "image": self.image, "seconds": round(self.seconds, 3), "hosts": hosts}

    def phase_seconds(self) -> dict[str, float]:
        """Wall-clock-ish per phase: the slowest host of each phase."""
        out: dict[str, float] = {}
        for r in self.results:
            out[r.phase] = max(out.get(r.phase, 0.0), r.seconds)
        return out


def cached_domains(images: Sequence[str], registry: str) -> list[str]:
    """Every registry domain the cached images come from, plus the image registry itself."""
    domains = [registry]
    for ref in images:
        try:
            d = parse_ref(ref).domain
        except Exception:  # noqa: BLE001 - a label we cannot parse adds no domain
            continue
        if d not in domains:
            domains.append(d)
    return domains


class _StepFailed(Exception):
    def __init__(self, message: str, tail: str = "") -> None:
        super().__init__(message)
        self.tail = tail


class _HostSession:
    """One remote shell per host for the whole delivery (each new SSH session costs a shell start-up on the
    host, ~0.2-0.8 s with a heavy ~/.bashrc): a loop on the host reads length-prefixed scripts from stdin and
    evaluates them, one step at a time, each sent when it can run (built then: master0's join data goes into
    the joins' steps). A step ends with a tag on stdout; a failing step exits the shell with its status."""

    LOOP = 'while IFS= read -r _n; do _s=$(head -c "$_n"; echo .); eval "${_s%.}"; done'

    def __init__(self, host: Host) -> None:
        self.host = host
        self._input: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._index = 0
        self._done: dict[int, asyncio.Future[None]] = {}
        self._lines: dict[str, list[tuple[int, str]]] = {"stdout": [], "stderr": []}
        self._current = {"stdout": -1, "stderr": -1}
        self._task: asyncio.Task[Any] = asyncio.create_task(
            host.run(self.LOOP, check=False, input=self._stdin(), on_line=self._on_line))

    async def _stdin(self) -> AsyncIterator[bytes]:
        while (data := await self._input.get()) is not None:
            yield data

    def _on_line(self, stream: str, line: str) -> None:
        if steps.SESSION_TAG in line:  # at the start of a line, or after output that ended without a newline
            before, _, tag = line.partition(steps.SESSION_TAG)
            if before:
                self._lines[stream].append((self._current[stream], before))
            kind, _, idx = tag.partition(" ")
            if kind == "start":
                self._current[stream] = int(idx)
            elif kind == "done" and stream == "stdout" and (f := self._done.get(int(idx))) and not f.done():
                f.set_result(None)
            return
        self._lines[stream].append((self._current[stream], line))

    def output(self, index: int, stream: str | None = None) -> str:
        streams = ("stdout", "stderr") if stream is None else (stream,)
        return "\n".join(ln for s in streams for i, ln in self._lines[s] if i == index)

    async def step(self, files: list[tuple[str, bytes, int]], script: str, marker: tuple[str, bytes] | None,
                   timeout: float | None) -> tuple[str, str]:
        """Run one step; its (stdout, stderr). Raises :class:`_StepFailed`."""
        i = self._index
        self._index += 1
        if self._task.done():
            raise _StepFailed(self._ended(i)[0])
        body = steps.session_step(i, files, script, marker, last=True).encode()
        done = self._done[i] = asyncio.get_running_loop().create_future()
        self._input.put_nowait(b"%d\n" % len(body) + body)
        try:
            finished, _ = await asyncio.wait({done, self._task}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            await self.close(kill=True)
            raise
        if done in finished:
            out = self.output(i, "stdout"), self.output(i, "stderr")
            self._drop(i)
            return out
        if not finished:
            await self.close(kill=True)
            raise _StepFailed(f"timed out after {timeout:g} s", _tail(self.output(i)))
        msg, tail = self._ended(i)
        raise _StepFailed(msg, tail)

    def _drop(self, index: int) -> None:
        for stream in self._lines:
            self._lines[stream] = [(i, ln) for i, ln in self._lines[stream] if i > index]

    def _ended(self, index: int) -> tuple[str, str]:
        """Why the session ended before step ``index`` finished, and that step's output tail."""
        e = self._task.exception()
        if e is not None:
            return str(e).removeprefix(f"{self.host.address}: "), ""
        res = self._task.result()
        tail = _tail(self.output(index, "stderr")) or _tail(self.output(index, "stdout"))
        return f"command failed with exit code {res.exit_code}", tail

    async def close(self, *, kill: bool = False) -> None:
        """End the shell (stdin closes: the loop ends), or kill it and whatever it runs."""
        if kill and not self._task.done():
            self._task.cancel()  # the host's run() stops the remote process group
        self._input.put_nowait(None)
        await asyncio.gather(self._task, return_exceptions=True)


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


class Delivery:
    """One ``run``/``apply``/``join``: connect, then the stages on ``hosts`` (default: every host)."""

    def __init__(self, plan: Plan, ssh_for: Callable[[str], SSHConfig], reporter: Reporter | None = None,
                 *, compress: bool = False) -> None:
        self.plan = plan
        self.ssh_for = ssh_for
        self.reporter = reporter or LogReporter()
        self.compress = compress
        self.conn: dict[str, Host] = {}
        self.sessions: dict[str, _HostSession] = {}
        self.markers: dict[str, dict[str, str]] = {}
        self.remote_manifest: dict[str, manifest.Manifest | None] = {}
        self.summary = Summary(plan.cluster.name, plan.image)
        self._manifest: manifest.Manifest | None = None
        self._hashing: asyncio.Task[manifest.Manifest] | None = None
        self._local: dict[tuple[str, str], tuple[bool, Any]] = {}
        self._engine: GoTemplateEngine | None = None
        self._join: dict[str, str] | None = None
        self._has_kubeadm = self._init_here = self._joins_failed = False
        self._join_ready = asyncio.Event()  # master0's join data is known (or master0 stopped)
        self._joins_done = asyncio.Event()  # every other host joined or stopped

    # ---- plumbing ------------------------------------------------------------------------------------
    async def _connect(self, hosts: Sequence[str]) -> None:
        async def one(ip: str) -> None:
            t = time.monotonic()
            self.reporter.phase_started(ip, "connect")
            try:
                h = await connect(ip, self.ssh_for(ip))
            except HostError as e:
                self.reporter.phase_failed(ip, "connect", str(e))
                self.summary.results.append(PhaseResult(ip, "connect", "failed", time.monotonic() - t))
                raise DeliveryError(str(e).removeprefix(f"{ip}: "), host=ip, phase="connect") from None
            self.conn[ip] = h
            try:  # the host's session starts with reading the markers and the manifest the host holds
                out, _ = await (await self._open(ip)).step(
                    [], steps.read_state_script([self.plan.paths.phases, self.plan.paths.manifest]), None, 120)
            except _StepFailed as e:
                self._failed(ip, "connect", t, str(e))
                raise DeliveryError(str(e), host=ip, phase="connect", tail=e.tail) from None
            phases, got = steps.parse_state(out + "\n", 2)
            self.markers[ip] = parse_markers(phases.encode())
            self.remote_manifest[ip] = manifest.parse(got.encode())
            self.reporter.phase_done(ip, "connect", skipped=False, seconds=time.monotonic() - t)
        await self._gather([ip for ip in hosts if ip not in self.conn], one)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
        self.sessions.clear()
        await asyncio.gather(*(h.close() for h in self.conn.values()), return_exceptions=True)
        self.conn.clear()
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    async def _gather(self, hosts: Sequence[str], fn: Callable[[str], Awaitable[None]]) -> None:
        results = await asyncio.gather(*(fn(h) for h in hosts), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for e in errors:
            if not isinstance(e, Exception):
                raise e  # cancellation / KeyboardInterrupt
        errors = [e for e in errors if not isinstance(e, _Stopped)] or errors
        if errors:
            first = errors[0]
            if len(errors) > 1 and isinstance(first, DeliveryError):
                others = ", ".join(f"{e.host} ({e.phase})" for e in errors[1:] if isinstance(e, DeliveryError))
                if others:
                    first.args = (f"{first.args[0]}\nalso failed: {others}",)
            raise first

    async def _phase(self, ip: str, phase: str, key: str, body: Callable[[Host], Awaitable[str]]) -> None:
        if self.markers.get(ip, {}).get(phase) == key:
            self.reporter.phase_done(ip, phase, skipped=True, seconds=0.0)
            self.summary.results.append(PhaseResult(ip, phase, "skipped"))
            return
        host = self.conn[ip]
        self.reporter.phase_started(ip, phase)
        t = time.monotonic()
        try:
            detail = await body(host)
            marks = self.markers.setdefault(ip, {})
            marks[phase] = key
            await write_markers(host, self.plan.paths.phases, marks)
        except HostCommandError as e:
            self._failed(ip, phase, t, str(e))
            raise DeliveryError(f"command failed with exit code {e.result.exit_code}", host=ip, phase=phase,
                                tail=e.result.tail(15)) from None
        except HostError as e:
            self._failed(ip, phase, t, str(e))
            raise DeliveryError(str(e).removeprefix(f"{ip}: "), host=ip, phase=phase) from None
        except DeliveryError as e:
            self._failed(ip, phase, t, str(e))
            if e.host is None:
                raise DeliveryError(str(e), host=ip, phase=phase) from None
            raise
        dt = time.monotonic() - t
        self.summary.results.append(PhaseResult(ip, phase, "done", dt, detail))
        self.reporter.phase_done(ip, phase, skipped=False, seconds=dt, detail=detail)

    def _skipped(self, ip: str, phase: str) -> None:
        self.reporter.phase_done(ip, phase, skipped=True, seconds=0.0)
        self.summary.results.append(PhaseResult(ip, phase, "skipped"))

    async def _open(self, ip: str) -> _HostSession:
        sess = self.sessions.get(ip)
        if sess is None:
            sess = self.sessions[ip] = _HostSession(self.conn[ip])
        return sess

    async def _session(self, ip: str, todo: Sequence[Step], *, timeout: float = KUBEADM_TIMEOUT,
                       secrets: Sequence[str] = ()) -> str:
        """Run ``todo`` (phases of one host, in order) on the host's session; phases whose marker holds their
        key are skipped. Each phase writes its marker right after its work, and is reported and recorded as
        it finishes, before the next one is sent, so a rerun resumes at the first phase not marked. A failure
        names the host, the phase and the tail of that phase's output. Returns the phases' output."""
        marks = dict(self.markers.get(ip, {}))
        run: list[Step] = []
        for st in todo:
            if st.mark and marks.get(st.phase) == st.key and st.t0 is None:
                self._skipped(ip, st.phase)
                continue
            run.append(st)
        if not run:
            return ""
        sess = await self._open(ip)
        outputs = []
        t = time.monotonic()
        for i, st in enumerate(run):
            marker = None
            if st.mark:
                marks[st.phase] = st.key
                marker = (self.plan.paths.phases, json.dumps(marks, indent=1, sort_keys=True).encode())
            continued = i > 0 and not run[i - 1].mark and run[i - 1].phase == st.phase
            if not continued:
                t = time.monotonic()
                if st.t0 is None:  # else reported when its work began (before this step)
                    self.reporter.phase_started(ip, st.phase)
            began = st.t0 if st.t0 is not None else t
            try:
                out = "\n".join(sess_out for sess_out in await sess.step(st.files, st.script, marker, timeout))
            except _StepFailed as e:
                msg, tail = redact(str(e), secrets), redact(e.tail, secrets)
                self._failed(ip, st.phase, began, msg + (f"\n{tail}" if tail else ""))
                raise DeliveryError(msg, host=ip, phase=st.phase, tail=tail) from None
            outputs.append(redact(out, secrets))
            if st.mark:
                dt = time.monotonic() - began
                self.markers.setdefault(ip, {})[st.phase] = st.key
                self.summary.results.append(PhaseResult(ip, st.phase, "done", dt, st.detail))
                self.reporter.phase_done(ip, st.phase, skipped=False, seconds=dt, detail=st.detail)
        return "\n".join(outputs)

    def _failed(self, ip: str, phase: str, t: float, msg: str) -> None:
        self.summary.results.append(PhaseResult(ip, phase, "failed", time.monotonic() - t, msg.splitlines()[0]))
        self.reporter.phase_failed(ip, phase, msg)

    @contextlib.contextmanager
    def _context(self, ip: str, phase: str) -> Iterator[None]:
        """Local work of a phase (templates, kubeadm config): its errors name the host and phase."""
        try:
            yield
        except DeliveryError:
            raise
        except SealerError as e:
            self._failed(ip, phase, time.monotonic(), str(e))
            raise DeliveryError(str(e), host=ip, phase=phase) from None

    @property
    def engine(self) -> GoTemplateEngine:
        if self._engine is None:
            self._engine = GoTemplateEngine()
        return self._engine

    async def hashed(self) -> None:
        """Wait for the manifest of the image's rootfs (hashed on threads, started by :meth:`run`)."""
        if self._manifest is None:
            if self._hashing is None:
                self._hashing = asyncio.create_task(asyncio.to_thread(manifest.build_manifest, self.plan.rootfs))
            self._manifest = await asyncio.shield(self._hashing)

    def full_manifest(self) -> manifest.Manifest:
        if self._manifest is None:
            self._manifest = manifest.build_manifest(self.plan.rootfs)
        return self._manifest

    def host_manifest(self, ip: str) -> manifest.Manifest:
        return manifest.for_host(self.full_manifest(), with_registry=ip in self.plan.registry_hosts)

    # ---- phases ----------------------------------------------------------------------------------------
    async def send(self, ip: str) -> Step | None:
        """The tar streams of the rootfs (OpenSSH processes when the host allows, ``registry/`` and the rest in
        parallel); the manifest and the marker are written by the first step of the host's next session. A
        host without a manifest (first delivery) gets every entry at once, while the manifest is hashed."""
        paths = self.plan.paths
        first = self.remote_manifest.get(ip) is None  # the send marker is written after the manifest: none
        if not first:
            await self.hashed()
            key = manifest.digest(self.host_manifest(ip))
            if self.markers.get(ip, {}).get("send") == key:
                self._skipped(ip, "send")
                return None
        host = self.conn[ip]
        self.reporter.phase_started(ip, "send")
        t = time.monotonic()
        if first:
            send = [p for p in manifest.entries(self.plan.rootfs)
                    if ip in self.plan.registry_hosts or not manifest.in_registry(p)]
            remove: list[str] = []
        else:
            send, remove = manifest.diff(self.remote_manifest.get(ip), self.host_manifest(ip))
        try:
            for i in range(0, len(remove), 200):
                await host.run("cd " + quote(paths.rootfs) + " && rm -rf -- "
                               + " ".join(quote(p) for p in remove[i:i + 200]))
            files = sorted(send)  # directories too (a tar entry each, non-recursive): modes and empty dirs
            # registry/ holds gzip layers already: it goes in a plain stream; the rest compressed (if asked)
            blobs = [f for f in files if manifest.in_registry(f)]
            rest = [f for f in files if not manifest.in_registry(f)]
            # big registry/ trees go in several streams (one ssh process each: both cores work)
            streams = [(g, False) for g in manifest.split(self.plan.rootfs, blobs, STREAM_BYTES, MAX_STREAMS)]
            await asyncio.gather(*(host.put_tree(self.plan.rootfs, paths.rootfs, files=part, compress=compress)
                                   for part, compress in (*streams, (rest, self.compress)) if part))
        except HostCommandError as e:
            self._failed(ip, "send", t, str(e))
            raise DeliveryError(f"command failed with exit code {e.result.exit_code}", host=ip, phase="send",
                                tail=e.result.tail(15)) from None
        except HostError as e:
            self._failed(ip, "send", t, str(e))
            raise DeliveryError(str(e).removeprefix(f"{ip}: "), host=ip, phase="send") from None
        await self.hashed()
        m = self.host_manifest(ip)
        key = manifest.digest(m)
        detail = f"{len(files)} entries sent, {len(remove)} removed" + (
            "" if ip in self.plan.registry_hosts else ", without registry/")
        return Step("send", key, "true\n", detail, files=[(paths.manifest, json.dumps(m).encode(), 0o600)], t0=t)

    async def prepare(self, ip: str) -> None:
        """Every phase of one host before kubeadm, back to back (hosts do not wait for each other): the tar
        streams, then one session for the rest (send's manifest, render, hosts, init, registry, mirror, auth)."""
        first = await self.send(ip)
        await self.hashed()
        await self._session(ip, [s for s in (first, *self._light(ip)) if s is not None], secrets=self.plan.secrets)
        if self.plan.cluster.runtime == "docker":
            await self.mirror_docker(ip)

    def _light(self, ip: str) -> list[Step | None]:
        """The phases after send and before kubeadm (call after :meth:`hashed`)."""
        init = self.init(ip)
        return [self.render(ip), self.hosts(ip), init,
                self.registry(ip) if ip in self.plan.registry_hosts else None,
                self.mirror(ip) if self.plan.cluster.runtime != "docker" else None,
                self.auth(ip, init.key if init is not None else "")]

    def render(self, ip: str) -> Step:
        with self._context(ip, "render"):
            rendered: dict[str, tuple[bytes, int]] = self._memo(
                ("render", ip), lambda: render_all(self.engine, self.plan, ip))
        key = inputs_hash({k: v[0].decode(errors="replace") for k, v in rendered.items()})
        files = [(f"{self.plan.paths.rootfs}/{rel}", data, mode) for rel, (data, mode) in rendered.items()]
        return Step("render", key, "true\n", f"{len(rendered)} templates", files=files)

    def _hosts_entries(self, ip: str) -> list[tuple[str, str]]:
        c = self.plan.cluster
        entries: list[tuple[str, str]] = []
        # a registry host (every master with localRegistry.ha) resolves the domain to itself (sealer v0.9
        # localConfigurator.configureRegistryNetwork), the others to master0 (see docs/delivery.md)
        reg_host = c.registry_ip_for(ip)
        if reg_host is not None:  # an external registry's name is the hosts' DNS's business (sealer v0.9)
            entries.append((reg_host, c.registry_domain))
            if c.registry_domain != "sea.hub":
                entries.append((reg_host, "sea.hub"))
        apiserver = c.env.get("ApiServer", "apiserver.cluster.local")
        entries.append((self.plan.master0, apiserver))
        return entries


    def hosts(self, ip: str) -> Step:
        entries = self._hosts_entries(ip)
        return Step("hosts", inputs_hash(entries), steps.hosts_script(self.plan.cluster.name, entries),
                    ", ".join(f"{n} -> {i}" for i, n in entries))

    def init(self, ip: str) -> Step | None:
        c = self.plan.cluster
        if not (self.plan.rootfs / "scripts" / "init.sh").is_file():
            self.summary.results.append(PhaseResult(ip, "init", "n/a", detail="the image has no scripts/init.sh"))
            return None
        env = c.host_env(ip)
        key = inputs_hash(manifest.digest(self.host_manifest(ip)), env)
        return Step("init", key, steps.init_script(self.plan.paths, c.registry_domain, c.registry_port, env),
                    "scripts/init.sh")

    def registry(self, ip: str) -> Step:
        """The registry on ``ip`` (one of :attr:`Plan.registry_hosts`), with the same credentials and TLS."""
        c = self.plan.cluster
        paths = self.plan.paths
        rootfs = self.plan.rootfs
        own_script = (rootfs / "scripts" / "init-registry.sh").is_file()
        proxy_cfg = rootfs / "etc" / "registry_config.yaml"
        auth = self.plan.auth
        cert = self.plan.tls
        # the proxies get the registry's htpasswd and certificate (a marker so older deliveries redo the phase)
        protect = bool(self.plan.proxy_registries) and (auth is not None or cert is not None)
        key = inputs_hash(manifest.digest(self.host_manifest(ip)), c.registry, own_script,
                          *([auth.key] if auth is not None else []), *([cert.key] if cert is not None else []),
                          *(["proxies-protected"] if protect else []))
        files = registryauth.registry_files(auth, paths) if auth is not None else []
        if cert is not None:
            files += tls.registry_files(cert, paths, c.registry_domain)
        if own_script:  # sealer: cd ROOTFS/scripts && sh init-registry.sh PORT ROOTFS/registry DOMAIN
            script = (f"{steps.env_exports(c.host_env(ip))}cd {quote(paths.rootfs)}/scripts && "
                      f"bash init-registry.sh {c.registry_port} {quote(paths.rootfs + '/registry')} "
                      f"{quote(c.registry_domain)}\n")
            detail = "scripts/init-registry.sh"
        else:
            cfg_path = f"{paths.registry_dir}/config.yml"
            cfg_text = steps.registry_config(paths.rootfs, f"{ip}:{c.registry_port}")
            if auth is not None:
                cfg_text = registryauth.registry_config_with_auth(cfg_text, registryauth.htpasswd_path(paths))
            if cert is not None:
                cfg_text = tls.registry_config_with_tls(cfg_text, paths, c.registry_domain)
            files.append((cfg_path, cfg_text.encode(), 0o600))
            cmd = f"{steps.registry_binary(paths.rootfs)} serve {quote(cfg_path)}"
            # each daemon script ends with `exit`: a subshell of its own, so the next one runs too
            script = "(\n" + steps.start_daemon_script("registry", paths.registry_dir, cmd, (ip, c.registry_port)) + ")\n"
            detail = f"docker-distribution on {ip}:{c.registry_port} serving rootfs/registry"
        # credentials or TLS dropped from the Clusterfile: the files we wrote go (not the image's own)
        script = registryauth.stale_files_script(self.plan, rootfs) + script
        if proxy_cfg.is_file():
            cfg = load_registry_config(proxy_cfg)
            rendered = render_distribution_configs(
                cfg, f"{paths.meta}/registry-proxy", listen_host=ip,
                htpasswd=registryauth.htpasswd_path(paths) if auth is not None else None,
                tls=tls.cert_paths(paths, c.registry_domain) if cert is not None else None)
            pdir = f"{paths.registry_dir}/proxy"
            for rel, text in rendered.items():  # a tls.ca path points into the local export: map it
                files.append((f"{pdir}/{rel}", text.replace(str(self.plan.rootfs), paths.rootfs).encode(), 0o600))
            for i, u in enumerate(cfg.upstreams):
                d = quote(f"{pdir}/{u.domain.replace(':', '_')}")
                cmd = (f"env $(cat {d}/env 2>/dev/null) {steps.registry_binary(paths.rootfs)} "
                       f"serve {d}/config.yml")
                script += "(\n" + steps.start_daemon_script(
                    f"proxy-{i}", paths.registry_dir, cmd, (ip, DEFAULT_PROXY_BASE_PORT + i)) + ")\n"
            detail += f"; {len(cfg.upstreams)} proxy registries"
        return Step("registry", key, script, detail, files=files)

    def _mirror_files(self) -> dict[str, str]:
        c = self.plan.cluster
        reg = c.registry
        if c.external_registry:
            return self._external_mirror_files()
        mirror = f"{'https' if self.plan.tls is not None else 'http'}://{reg}"
        hosts: dict[str, list[str]] = {d: [mirror] for d in cached_domains(self.plan.cached_images, reg)}
        for d in ("sea.hub:5000",) if c.registry_domain != "sea.hub" else ():
            hosts.setdefault(d, [mirror])
        proxy_cfg = self.plan.rootfs / "etc" / "registry_config.yaml"
        if proxy_cfg.is_file():
            for rel, text in render_containerd_hosts(load_registry_config(proxy_cfg), c.registry_domain,
                                                     scheme="https" if self.plan.tls is not None else "http").items():
                domain = rel.split("/")[0]
                extra = [line.split('"')[1] for line in text.splitlines() if line.startswith("[host.")]
                hosts.setdefault(domain, [])
                hosts[domain] += [e for e in extra if e not in hosts[domain]]
        files = {d: steps.hosts_toml(c.name, steps.upstream_server(d, reg), m) for d, m in hosts.items()}
        if self.plan.tls is None:
            return files
        return tls.hosts_files(files, reg, mirror, self.plan.proxy_registries)


    def _external_mirror_files(self) -> dict[str, str]:
        """An external registry (sealer v0.9 ``externalRegistry``): every domain of the cached images (and
        ``sea.hub:5000``, which images built for sealer's own registry name) is mirrored to it over HTTPS, so a
        host pulls ``docker.io/library/nginx`` by its original name from there. The registry's own
        ``certs.d/<registry>/`` is left to the host (sealer v0.9 writes nothing for it: the hosts trust its
        certificate already, or hold their own ``hosts.toml``/``ca.crt`` there)."""
        c = self.plan.cluster
        reg = c.registry
        mirror = f"https://{reg}"
        domains = [d for d in cached_domains(self.plan.cached_images, reg) if d != reg]
        if "sea.hub:5000" not in domains and reg != "sea.hub:5000":
            domains.append("sea.hub:5000")
        return {d: steps.hosts_toml(c.name, steps.upstream_server(d, reg), [mirror]) for d in domains}

    def _mirror_parts(self) -> tuple[dict[str, str], list[tuple[str, bytes, int]], str, str]:
        """What the mirror phase writes on every host, the same for all (made once): the ``hosts.toml`` files,
        the CA files, the script and the phase key."""
        def make() -> tuple[dict[str, str], list[tuple[str, bytes, int]], str, str]:
            c = self.plan.cluster
            files = self._mirror_files()
            ca = tls.host_files(c, self.plan.tls, self.plan.proxy_registries) if self.plan.tls is not None else []
            # without TLS (never set, or dropped from the Clusterfile) no CA of ours stays in certs.d
            script = steps.mirror_script(c.name, files) + (tls.clean_script(c.name) if self.plan.tls is None else "")
            return files, ca, script, inputs_hash(files, c.runtime, *[f[1].decode() for f in ca])
        parts: tuple[dict[str, str], list[tuple[str, bytes, int]], str, str] = self._memo(("mirror", "*"), make)
        return parts

    def mirror(self, ip: str) -> Step:
        files, ca, script, key = self._mirror_parts()
        return Step("mirror", key, script, f"{len(files)} registries -> {self.plan.cluster.registry}", files=ca)

    def auth(self, ip: str, init_key: str = "") -> Step | None:
        """The registry's credentials for the host's runtime and kubelet (deliver/registryauth.py); redone
        whenever init is (the image's init.sh may rewrite the runtime's config)."""
        auth = self.plan.auth
        c = self.plan.cluster
        if auth is None:  # credentials dropped from the Clusterfile: take ours away
            if "auth" not in self.markers.get(ip, {}):
                return None
            return Step("auth", inputs_hash("no credentials"), registryauth.clean_script(c.name),
                        "registry credentials removed")
        proxies = self.plan.proxy_registries
        return Step("auth", registryauth.host_key(c, auth, init_key, proxies),
                    registryauth.host_script(c, auth, containerd=c.runtime == "containerd", proxies=proxies),
                    f"credentials for {', '.join([c.registry, *proxies])}")

    async def mirror_docker(self, ip: str) -> None:
        """The docker runtime's mirror phase: daemon.json is merged with what the host has (a read first)."""
        c = self.plan.cluster
        files, ca, script, key = self._mirror_parts()
        secure = self.plan.tls is not None or c.external_registry
        scheme = "https" if secure else "http"

        async def body(host: Host) -> str:
            for path, data, mode in ca:
                await host.run(f"mkdir -p {quote(path.rsplit('/', 1)[0])}")
                await host.put_bytes(data, path, mode=mode)
            cur = await host.read_file(steps.DOCKER_DAEMON)
            text, changed = steps.docker_daemon_merge(cur, f"{scheme}://{c.registry}", c.registry)
            if secure:  # verified (against the CA in certs.d, or the host's own trust): not insecure
                text = tls.secure_daemon_json(text, c.registry)
                changed = text != cur
            if changed:
                orig = f"{self.plan.paths.meta}/docker-daemon.json.orig"
                if await host.read_file(orig) is None:
                    await host.put_bytes(cur if cur is not None else b"", orig, mode=0o600)
                await host.run("mkdir -p /etc/docker")
                await host.put_bytes(text, steps.DOCKER_DAEMON)
            await host.run("bash -s", input=script.encode())
            return f"{len(files)} registries -> {c.registry}"
        await self._phase(ip, "mirror", key, body)

    def _kubeadm_config(self, ip: str, join: dict[str, str] | None) -> HostKubeadmConfig:
        c = self.plan.cluster
        cfg = kubeadm_config(c, ip, rootfs=self.plan.rootfs, token=join["token"] if join else None,
                             ca_cert_hash=join["caCertHash"] if join else None)
        imagerepo.apply_choice(cfg, c, self.plan.rootfs)
        for d in cfg.documents:
            if d.kind == "JoinConfiguration" and cfg.role == "master" and join and join.get("certificateKey"):
                cp = d.data.setdefault("controlPlane", {})
                if isinstance(cp, dict):
                    cp["certificateKey"] = join["certificateKey"]
        return cfg

    def _memo(self, key: tuple[str, str], fn: Callable[[], Any]) -> Any:
        """Local work (templates, kubeadm configs) done once, possibly ahead of time by :meth:`_ahead`; an
        error is kept and raised where the phase uses the result."""
        if key not in self._local:
            try:
                self._local[key] = (True, fn())
            except SealerError as e:
                self._local[key] = (False, e)
        ok, value = self._local[key]
        if not ok:
            raise value
        return value

    async def _ahead(self, targets: Sequence[str]) -> None:
        """The local CPU work of later phases (≈ 0.3 s per kubeadm config, the templates), done while the
        rootfs streams (ssh processes, an idle event loop); join configs get placeholder credentials that the
        join phase replaces by master0's."""
        plan = self.plan
        has_kubeadm = (plan.rootfs / "bin" / "kubeadm").exists()
        for ip in targets:
            await asyncio.sleep(0)
            self._memo(("render", ip), functools.partial(render_all, self.engine, plan, ip))
        if not has_kubeadm:
            return
        if plan.master0 in targets:
            await asyncio.sleep(0)
            self._memo(("init", plan.master0), lambda: self._kubeadm_config(plan.master0, None).to_yaml())
        for ip in targets:
            if ip != plan.master0:
                await asyncio.sleep(0)
                self._memo(("join", ip), functools.partial(self._kubeadm_config, ip, PLACEHOLDER_JOIN))

    def _join_config(self, ip: str, join: dict[str, str]) -> tuple[str, str]:
        """(YAML, role) of a join: the (precomputed) config with master0's token, hash and certificate key."""
        cfg: HostKubeadmConfig = self._memo(("join", ip), lambda: self._kubeadm_config(ip, PLACEHOLDER_JOIN))
        for d in cfg.documents:
            if d.kind == "JoinConfiguration" and cfg.role == "master":
                cp = d.data.setdefault("controlPlane", {})
                if isinstance(cp, dict):
                    cp.pop("certificateKey", None)
                    if join.get("certificateKey"):
                        cp["certificateKey"] = join["certificateKey"]
        text = cfg.to_yaml()
        for k, v in PLACEHOLDER_JOIN.items():
            text = text.replace(v, join[k])
        return text, cfg.role

    async def kubeadm_init(self) -> bool:
        """``kubeadm init`` on master0 (False: done before); the join data parsed from its output releases
        the joins while master0 records it (join.json) and marks the phase."""
        ip = self.plan.master0
        paths = self.plan.paths
        with self._context(ip, "kubeadm"):
            text: str = self._memo(("init", ip), lambda: self._kubeadm_config(ip, None).to_yaml())
        key = inputs_hash(text)
        if self.markers.get(ip, {}).get("kubeadm") == key:
            self._skipped(ip, "kubeadm")
            return False
        t = time.monotonic()
        cmd = steps.run_in_rootfs(paths, f"kubeadm init --config {quote(paths.kubeadm_config)} --upload-certs",
                                  self.plan.cluster.host_env(ip), kubeconfig=False)
        res = await self._session(ip, [Step("kubeadm", key, cmd + "\n", "", mark=False,
                                            files=[(paths.kubeadm_config, text.encode(), 0o600)])])
        join = steps.parse_join(res)
        if join is None:
            self._failed(ip, "kubeadm", t, "kubeadm init printed no join command")
            raise DeliveryError("kubeadm init printed no join command (--token and --discovery-token-ca-cert-hash)",
                                host=ip, phase="kubeadm", tail="\n".join(res.rstrip().splitlines()[-15:]))
        self._join = join
        self._join_ready.set()
        await self._session(ip, [Step("kubeadm", key, "true\n", "kubeadm init", t0=t,
                                      files=[(paths.join_file, json.dumps(join).encode(), 0o600)])])
        return True

    async def join_info(self) -> dict[str, str]:
        if self._join is None:
            got = await self.conn[self.plan.master0].read_file(self.plan.paths.join_file)
            parsed = json.loads(got) if got else None
            if not isinstance(parsed, dict) or "token" not in parsed:
                raise DeliveryError("master0 holds no join token: run `sealer apply` again to initialise it",
                                    host=self.plan.master0, phase="kubeadm")
            self._join = {str(k): str(v) for k, v in parsed.items()}
        return self._join


    async def kubeadm_join(self, ip: str, join: dict[str, str]) -> None:
        paths = self.plan.paths
        with self._context(ip, "kubeadm"):
            text, role = self._join_config(ip, join)
        cmd = steps.run_in_rootfs(paths, f"kubeadm join --config {quote(paths.kubeadm_config)}",
                                  self.plan.cluster.host_env(ip), kubeconfig=False)
        await self._session(ip, [Step("kubeadm", inputs_hash(text), cmd + "\n", f"kubeadm join ({role})",
                                      files=[(paths.kubeadm_config, text.encode(), 0o600)])],
                            secrets=(join["token"],))

    def cmds(self) -> Step | None:
        ip = self.plan.master0
        cmds = list(self.plan.cmds)
        if not cmds:
            return None
        return Step("cmds", inputs_hash(cmds), steps.cmds_script(self.plan.paths, cmds, self.plan.cluster.host_env(ip)),
                    f"{len(cmds)} CMDs")

    # ---- the whole thing -------------------------------------------------------------------------------
    async def _wait_join(self) -> dict[str, str]:
        """master0's join data: from its ``kubeadm init`` in this run, else from its join.json."""
        if self._init_here:
            await self._join_ready.wait()
            if self._join is None:
                raise _Stopped()
        return await self.join_info()

    async def _master0(self, others: Sequence[str]) -> None:
        """master0's phases: its light phases, ``kubeadm init`` (the joins start as soon as its join command
        is known) and, once every other host is done, the CMDs."""
        plan = self.plan
        ip = plan.master0
        try:
            await self.prepare(ip)
            if self._has_kubeadm and not await self.kubeadm_init() and others:
                await self.join_info()  # initialised before: the joins take join.json's data
            self._join_ready.set()
            cmds = self.cmds()
            if cmds is not None:
                await self._joins_done.wait()
                if self._joins_failed:
                    raise _Stopped()
                await self._session(ip, [cmds])
        finally:
            self._join_ready.set()  # the joins go on, or stop when no join data came

    async def _other(self, ip: str, remaining: list[str]) -> None:
        """A host other than master0: its phases before kubeadm in one session, then ``kubeadm join``."""
        ok = False
        try:
            await self.prepare(ip)
            if self._has_kubeadm:
                await self.kubeadm_join(ip, await self._wait_join())
            ok = True
        finally:
            self._joins_failed |= not ok
            remaining.remove(ip)
            if not remaining:
                self._joins_done.set()

    # ---- the whole thing -------------------------------------------------------------------------------
    async def run(self, hosts: Sequence[str] | None = None) -> Summary:
        """Deliver to ``hosts`` (default every host of the cluster); master0 is always connected. Each host
        goes as far as it can: master0 runs ``kubeadm init`` when its own phases are done, the others join
        when their phases are done and master0 printed the join command, master0 runs the CMDs after every
        join; a host that failed stops only the hosts that wait for it."""
        t0 = time.monotonic()
        plan = self.plan
        targets = list(hosts) if hosts is not None else plan.all_hosts
        self._has_kubeadm = (plan.rootfs / "bin" / "kubeadm").exists()
        self._init_here = self._has_kubeadm and plan.master0 in targets
        self._join_ready, self._joins_done, self._joins_failed = asyncio.Event(), asyncio.Event(), False
        try:
            # hashing the rootfs overlaps connecting and, on a first delivery, sending
            self._hashing = asyncio.create_task(asyncio.to_thread(manifest.build_manifest, plan.rootfs))
            await self._connect(list(dict.fromkeys([plan.master0, *targets])))
            if not self._has_kubeadm:
                self.reporter.note("the image has no bin/kubeadm: no kubeadm init/join (an image without "
                                   "Kubernetes binaries delivers its rootfs, registry and CMDs only)")
                for ip in targets:
                    self.summary.results.append(PhaseResult(ip, "kubeadm", "n/a", detail="no bin/kubeadm"))
            others = [ip for ip in targets if ip != plan.master0]
            remaining = list(others)
            if not remaining:
                self._joins_done.set()
            ahead = asyncio.create_task(self._ahead(targets))
            try:
                await self._gather(targets, lambda ip: self._master0(others) if ip == plan.master0
                                   else self._other(ip, remaining))
            finally:
                if not ahead.done():
                    ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
        finally:
            self.summary.seconds = time.monotonic() - t0
            if self._hashing is not None:  # a thread cannot be cancelled: let it end before the loop does
                await asyncio.gather(self._hashing, return_exceptions=True)
            await self.close()
        return self.summary
