"""Test hosts: one real ``sshd`` per "host" on 127.0.B.N:22, each in its own mount and UTS namespace.

Recipe of ../shared/ENVIRONMENT.md ("Several test hosts on one machine"). Each host has its own directory ``D``:

- private bind mounts: ``D/sealer`` on /var/lib/sealer, ``D/hosts`` on /etc/hosts (a copy of the machine's),
  empty ``D/etc-containerd`` on /etc/containerd, ``D/run-containerd`` on /run/containerd,
  ``D/var-lib-containerd`` on /var/lib/containerd, ``D/var-lib-kubelet`` on /var/lib/kubelet; a tmpfs on /run (so nothing lands in the machine's /run);
- copy-on-write overlays over /etc, /usr, /root and /opt (upper dirs ``D/ovl/*``), so whatever a base image's
  scripts install (``/usr/bin/...``, ``/etc/systemd/...``, ``/root/.kube``) or a password set with
  :meth:`TestHost.set_password` stays inside the host;
- ``hostname hostN``; its own ed25519 host key; one ed25519 client key shared by the hosts of a pool.

The namespace is held by a small holder process (``sleep``), so :meth:`TestHost.stop_sshd` /
:meth:`TestHost.start_sshd` can stop and restart the SSH daemon while the host's other processes (containerd,
a registry started over SSH) live on. :meth:`TestHost.stop` kills every process whose mount namespace is the
host's, then removes nothing but what the host created. containerd is not started here: the image's
``scripts/init.sh`` starts it over SSH, or a test calls :meth:`TestHost.start_containerd`.

Addresses: a pool takes the first free *block* ``B`` (a flock on ``/tmp/sealer-testhosts/block-B.lock``,
held by the pool and inherited by its holder processes), and its hosts are 127.0.B.2, 127.0.B.3, ... — block 0
gives the 127.0.0.2.. of the issue. So pytest-xdist workers and test runs of other worktrees never collide
and no xdist grouping is needed. ``127.0.B.250`` is never used by a host (:meth:`HostPool.unused_address`).

Pytest: ``test_hosts`` fixture (import it into a conftest), a factory ``test_hosts(3) -> list[TestHost]``;
everything is stopped at teardown. Needs root, unshare, nsenter, sshd: skipped with the reason when missing,
failing instead under ``CI=true``.

Script (for the demo)::

    python tests/helpers/testhosts.py start --count 2 --dir D   # prints JSON: addresses, key, known_hosts
    python tests/helpers/testhosts.py stop --dir D
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":  # script mode: make ``sealer`` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from sealer.infra import SSHConfig

SSHD = "/usr/sbin/sshd"
LOCK_DIR = Path("/tmp/sealer-testhosts")
MOUNT_POINTS = ("/var/lib/sealer", "/var/lib/containerd", "/run/containerd", "/etc/containerd", "/run/sshd",
                "/var/lib/kubelet")
OVERLAYS = ("/etc", "/usr", "/root", "/opt")
UNUSED_HOST_INDEX = 250
REQUIRED_TOOLS = ("unshare", "nsenter", "ssh-keygen", "mount")


class TestHostsUnavailable(RuntimeError):
    """This machine cannot run test hosts (not root, a tool missing)."""


def missing_requirements(containerd: bool = False) -> str | None:
    """Why test hosts (with ``containerd``: and a container runtime in them) cannot run here, or None."""
    if containerd:
        for tool in ("containerd", "ctr", "runc"):
            if shutil.which(tool) is None:
                return f"test hosts with a container runtime need {tool!r} (Debian packages containerd runc)"
    if os.geteuid() != 0:
        return "test hosts need root (mount namespaces, sshd on port 22)"
    if not os.access(SSHD, os.X_OK):
        return f"test hosts need {SSHD} (Debian package openssh-server)"
    for tool in REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            return f"test hosts need {tool!r} on PATH"
    return None


def _mnt_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def pids_in_namespace(ns: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mnt_ns(int(entry)) == ns:
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def kill_pids(pids: list[int], timeout: float = 5) -> None:
    """SIGTERM, then SIGKILL whatever still lives after ``timeout`` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids:
            _reap(pid)
        if not any(_alive(p) for p in pids):
            return
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _wait_listening(address: str, port: int, timeout: float, pid: int) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise TestHostsUnavailable(f"sshd for {address} exited at start")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((address, port)) == 0:
                return
        time.sleep(0.05)
    raise TestHostsUnavailable(f"sshd on {address}:{port} not listening after {timeout} s")


@dataclass
class TestHost:
    """One test host. ``exec`` runs a command inside it directly (not over SSH), for assertions."""

    __test__ = False  # not a pytest test class

    index: int
    address: str
    dir: Path
    ssh_config: SSHConfig
    hostname: str
    holder_pid: int = 0
    sshd_pid: int = 0
    namespace: str = ""
    _lock_fd: int = -1

    # -- inside the host -----------------------------------------------------------------------

    def exec(self, command: str, *, check: bool = True, input: str | bytes | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``bash -c command`` in this host's mount and UTS namespaces (as root, outside SSH)."""
        data = input.encode() if isinstance(input, str) else input
        p = subprocess.run(
            ["nsenter", "--mount", "--uts", "--target", str(self.holder_pid), "--", "bash", "-c", command],
            input=data, capture_output=True, timeout=timeout, check=False)
        res = subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(errors="replace"),
                                          p.stderr.decode(errors="replace"))
        if check and p.returncode != 0:
            raise AssertionError(f"{self.address}: {command!r} exited {p.returncode}: {res.stderr or res.stdout}")
        return res

    def read(self, path: str) -> str:
        return self.exec(f"cat -- {shlex.quote(path)}").stdout

    def pids(self) -> list[int]:
        """Every process in this host's mount namespace (the holder, sshd, anything started over SSH)."""
        return pids_in_namespace(self.namespace) if self.namespace else []

    def processes(self) -> list[str]:
        """Command lines of the host's processes (for "no sleep left" style assertions)."""
        out = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        return out

    def set_password(self, user: str, password: str) -> None:
        """Set ``user``'s password in the host's private /etc/shadow (through stdin, never argv)."""
        self.exec("chpasswd", input=f"{user}:{password}\n")

    def start_containerd(self) -> None:
        """Write a minimal per-host containerd config (if none) and start containerd in the host, as the
        image's init.sh would over SSH; waits for its socket."""
        cfg = ('version = 2\nroot = "/var/lib/containerd"\nstate = "/run/containerd"\n'
               '[grpc]\n  address = "/run/containerd/containerd.sock"\n'
               '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n')
        self.exec("test -f /etc/containerd/config.toml || cat > /etc/containerd/config.toml", input=cfg)
        self.exec("nohup containerd --config /etc/containerd/config.toml >/var/lib/containerd/containerd.log "
                  "2>&1 </dev/null & for i in $(seq 100); do [ -S /run/containerd/containerd.sock ] && "
                  "ctr version >/dev/null 2>&1 && exit 0; sleep 0.1; done; echo containerd did not start >&2; "
                  "exit 1")

    # -- lifecycle ------------------------------------------------------------------------------

    def start_sshd(self, timeout: float = 10) -> None:
        """(Re)start sshd inside the host's namespace."""
        if self.sshd_pid and _alive(self.sshd_pid):
            return
        log = open(self.dir / "sshd.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            p = subprocess.Popen(
                ["nsenter", "--mount", "--uts", "--target", str(self.holder_pid), "--",
                 SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        self.sshd_pid = p.pid
        _wait_listening(self.address, 22, timeout, p.pid)

    def stop_sshd(self) -> None:
        """Stop the SSH daemon and drop every SSH session to the host (their sshd processes); what was started
        over SSH keeps running, as when a host's sshd goes down."""
        pids = [p for p in self.pids() if _comm(p) == "sshd"]
        kill_pids(pids)
        self.sshd_pid = 0

    def stop(self) -> list[int]:
        """Kill every process in the host's namespace (containerd, shims, registries, sshd), the holder last;
        returns the PIDs still alive afterwards (none, normally)."""
        killed = stop_namespace(self.holder_pid, self.namespace)
        self.sshd_pid = self.holder_pid = 0
        return [p for p in killed if _alive(p)]


def stop_namespace(holder_pid: int, namespace: str) -> list[int]:
    """Kill the processes of a host namespace, then its holder. While the holder lives the namespace id cannot
    be reused, so scanning /proc by that id is only done before the holder is killed. Returns the PIDs killed."""
    if not holder_pid or not namespace or not _alive(holder_pid) or _mnt_ns(holder_pid) != namespace:
        if holder_pid:
            _reap(holder_pid)
        return []
    killed: list[int] = []
    for _ in range(10):  # processes may fork while we kill
        others = [p for p in pids_in_namespace(namespace) if p != holder_pid]
        if not others:
            break
        kill_pids(others)
        killed += others
    kill_pids([holder_pid])
    return [*killed, holder_pid]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _holder_script(d: Path, hostname: str) -> str:
    q = shlex.quote
    lines = ["set -e", "mount -t tmpfs -o mode=755 tmpfs /run", "mkdir -p /run/sshd /run/containerd"]
    for target in OVERLAYS:
        if not os.path.isdir(target):
            continue
        name = target.strip("/").replace("/", "-")
        up, work = d / "ovl" / name / "upper", d / "ovl" / name / "work"
        lines.append(f"mount -t overlay overlay -o lowerdir={q(target)},upperdir={q(str(up))},"
                     f"workdir={q(str(work))} {q(target)}")
    lines += [
        f"mount --bind {q(str(d / 'sealer'))} /var/lib/sealer",
        f"mount --bind {q(str(d / 'hosts'))} /etc/hosts",
        "mkdir -p /etc/containerd",
        f"mount --bind {q(str(d / 'etc-containerd'))} /etc/containerd",
        f"mount --bind {q(str(d / 'run-containerd'))} /run/containerd",
        f"mount --bind {q(str(d / 'var-lib-containerd'))} /var/lib/containerd",
        f"mount --bind {q(str(d / 'var-lib-kubelet'))} /var/lib/kubelet",
        f"hostname {q(hostname)}",
        "echo ready",
        "exec sleep 2147483647",
    ]
    return "\n".join(lines)


def _sshd_config(d: Path, address: str, authorized_keys: Path, password: bool) -> str:
    return "\n".join([
        f"ListenAddress {address}:22",
        f"HostKey {d / 'ssh_host_ed25519_key'}",
        f"PidFile {d / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized_keys}",
        "StrictModes no",
        f"PermitRootLogin {'yes' if password else 'prohibit-password'}",
        f"PasswordAuthentication {'yes' if password else 'no'}",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "UseDNS no",
        "MaxStartups 100:30:200",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
    ])


def _keygen(path: Path) -> None:
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
                   check=True, capture_output=True)


def _acquire_block() -> tuple[int, int]:
    """(block, fd holding its lock) for the first free address block 127.0.B.0/24."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    for block in range(0, 250):
        fd = os.open(LOCK_DIR / f"block-{block}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if _block_in_use(block):  # a host left over by a killed run still listens there
            os.close(fd)
            continue
        return block, fd
    raise TestHostsUnavailable("no free test-host address block in 127.0.0.0/8")


def _block_in_use(block: int) -> bool:
    for i in range(2, 6):
        with socket.socket() as s:
            s.settimeout(0.05)
            if s.connect_ex((f"127.0.{block}.{i}", 22)) == 0:
                return True
    return False


_LIVE_POOLS: list[HostPool] = []


@atexit.register
def _stop_leftover_pools() -> None:
    """Last resort when a test run ends without its fixture teardown (an interrupted session)."""
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.stop()


@dataclass(eq=False)
class HostPool:
    """Hosts of one test (or one demo run), sharing a client key, a known_hosts file and an address block."""

    base: Path
    password_auth: bool = True
    hosts: list[TestHost] = field(default_factory=list)
    block: int = -1
    keep_after_exit: bool = False  # the demo script's hosts outlive the script; others die with the interpreter
    _lock_fd: int = -1

    @property
    def client_key(self) -> Path:
        return self.base / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    def address(self, index: int) -> str:
        return f"127.0.{self.block}.{index}"

    def unused_address(self) -> str:
        """An address of this pool's block where nothing listens."""
        return self.address(UNUSED_HOST_INDEX)

    def start(self, count: int, timeout: float = 15) -> list[TestHost]:
        why = missing_requirements()
        if why:
            raise TestHostsUnavailable(why)
        self.base.mkdir(parents=True, exist_ok=True)
        if self.block < 0:
            self.block, self._lock_fd = _acquire_block()
        if not self.keep_after_exit:
            _LIVE_POOLS.append(self)
        for mp in MOUNT_POINTS:
            os.makedirs(mp, exist_ok=True)
        if not self.client_key.exists() or not self.client_key.with_suffix(".pub").exists():
            _keygen(self.client_key)
        if not self.hosts:  # new host keys are made below: entries of an earlier run are stale
            self.known_hosts.unlink(missing_ok=True)
        auth = self.base / "authorized_keys"
        auth.write_text(self.client_key.with_suffix(".pub").read_text())
        machine_hosts = Path("/etc/hosts").read_bytes()
        new = []
        first = len(self.hosts) + 2
        for index in range(first, first + count):
            name = f"host{index}"
            d = self.base / name
            for sub in ("sealer", "etc-containerd", "run-containerd", "var-lib-containerd", "var-lib-kubelet"):
                (d / sub).mkdir(parents=True, exist_ok=True)
            for target in OVERLAYS:
                n = target.strip("/").replace("/", "-")
                (d / "ovl" / n / "upper").mkdir(parents=True, exist_ok=True)
                (d / "ovl" / n / "work").mkdir(parents=True, exist_ok=True)
            (d / "hosts").write_bytes(machine_hosts)
            _keygen(d / "ssh_host_ed25519_key")
            address = self.address(index)
            (d / "sshd_config").write_text(_sshd_config(d, address, auth, self.password_auth))
            host = TestHost(index=index, address=address, dir=d, hostname=name,
                            ssh_config=SSHConfig(pkey=self.client_key, known_hosts=self.known_hosts,
                                                 connect_timeout=5.0))
            self._start_holder(host)
            self.hosts.append(host)
            new.append(host)
        for host in new:
            host.start_sshd(timeout)
        return new

    def _start_holder(self, host: TestHost) -> None:
        p = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--uts", "--", "bash", "-c",
             _holder_script(host.dir, host.hostname)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(host.dir / "holder.log", "ab"),  # noqa: SIM115
            start_new_session=True, pass_fds=(self._lock_fd,) if self._lock_fd >= 0 else ())
        assert p.stdout is not None
        line = p.stdout.readline()
        p.stdout.close()
        if line.strip() != b"ready":
            kill_pids([p.pid])
            raise TestHostsUnavailable(f"{host.address}: namespace setup failed: "
                                       f"{(host.dir / 'holder.log').read_text()[-2000:]}")
        host.holder_pid = p.pid
        host.namespace = _mnt_ns(p.pid) or ""
        if not host.namespace or host.namespace == _mnt_ns(os.getpid()):
            kill_pids([p.pid])
            raise TestHostsUnavailable(f"{host.address}: no private mount namespace")

    def stop(self) -> list[int]:
        """Stop every host; the PIDs still alive afterwards (none, normally)."""
        leftovers = [p for host in self.hosts for p in host.stop()]
        if self in _LIVE_POOLS:
            _LIVE_POOLS.remove(self)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        return leftovers

    def state(self) -> dict[str, object]:
        return {
            "addresses": [h.address for h in self.hosts],
            "block": self.block,
            "client_key": str(self.client_key),
            "known_hosts": str(self.known_hosts),
            "hosts": [{"address": h.address, "hostname": h.hostname, "dir": str(h.dir), "holder_pid": h.holder_pid,
                       "sshd_pid": h.sshd_pid, "namespace": h.namespace} for h in self.hosts],
        }


def requirement_or_skip(containerd: bool = False) -> None:
    """Skip the calling test when test hosts cannot run here; under CI=true fail instead."""
    import pytest

    why = missing_requirements(containerd)
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {why}")
        pytest.skip(why)


class TestHostFactory:
    """``test_hosts(3)`` starts three hosts (each call a new pool with its own address block)."""

    __test__ = False

    def __init__(self) -> None:
        self.pools: list[HostPool] = []

    def __call__(self, count: int = 1, *, password_auth: bool = True, containerd: bool = False) -> list[TestHost]:
        """``containerd=True``: skip (fail under CI=true) unless containerd, ctr and runc are installed."""
        import tempfile

        if containerd:
            requirement_or_skip(containerd=True)

        pool = HostPool(Path(tempfile.mkdtemp(prefix="sealer-th-")), password_auth=password_auth)
        self.pools.append(pool)
        return pool.start(count)

    @property
    def pool(self) -> HostPool:
        return self.pools[-1]

    def unused_address(self) -> str:
        """An address in the last pool's block where nothing listens."""
        return self.pool.unused_address()

    def stop_all(self) -> list[int]:
        """Stop every pool; the PIDs that were still alive after stopping (should be none)."""
        leftovers: list[int] = []
        for pool in self.pools:
            leftovers += pool.stop()
            shutil.rmtree(pool.base, ignore_errors=True)
        self.pools.clear()
        return leftovers


def _fixture() -> Iterator[TestHostFactory]:
    requirement_or_skip()
    factory = TestHostFactory()
    try:
        yield factory
    finally:
        leftovers = factory.stop_all()
        assert not leftovers, f"test host processes left: {leftovers}"


def _make_fixture() -> object:
    import pytest

    return pytest.fixture(name="test_hosts")(_fixture)


test_hosts = _make_fixture()


# -- script mode (the demo) ---------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start COUNT hosts under DIR and print JSON")
    st.add_argument("--count", type=int, default=2)
    st.add_argument("--dir", type=Path, required=True)
    sp = sub.add_parser("stop", help="stop the hosts recorded under DIR")
    sp.add_argument("--dir", type=Path, required=True)
    args = ap.parse_args(argv)
    state_file = args.dir / "testhosts.json"
    if args.cmd == "start":
        pool = HostPool(args.dir.resolve(), keep_after_exit=True)
        try:
            pool.start(args.count)
        except BaseException:
            pool.stop()
            raise
        state_file.write_text(json.dumps(pool.state(), indent=2))
        print(json.dumps(pool.state(), indent=2))
        return 0
    if not state_file.exists():
        print(f"no test hosts recorded in {state_file}", file=sys.stderr)
        return 1
    state = json.loads(state_file.read_text())
    for h in state["hosts"]:
        stop_namespace(h["holder_pid"], h["namespace"])  # checks the PID still holds that namespace
    state_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
