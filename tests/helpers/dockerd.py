"""A real Docker engine (Debian's docker.io) for tests, in its own mount namespace so it writes nothing global.

Recipe from ENVIRONMENT.md ("Docker containers as nodes"): ``dockerd`` with its own data root, exec root, pid
file and socket, no bridge and no iptables, ``/etc/docker`` and ``/run/containerd`` bind-mounted from the test
directory. Stopped by PID (SIGTERM, then SIGKILL) at teardown, with every process left in its namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Dockerd:
    dir: Path
    pid: int
    socket: Path

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def namespace_pids(self) -> list[int]:
        try:
            ns = os.readlink(f"/proc/{self.pid}/ns/mnt")
        except OSError:
            return []
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{p}/ns/mnt") == ns:
                        out.append(int(p))
        return out

    def stop(self) -> None:
        pids = self.namespace_pids()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Path(f"/proc/{self.pid}").exists():
            time.sleep(0.1)
        for p in [*pids, self.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def missing_tools() -> list[str]:
    return [t for t in ("dockerd", "unshare", "mmdebstrap") if shutil.which(t) is None]


def start_dockerd(workdir: Path) -> Dockerd:
    for d in ("etc-docker", "run-containerd", "data", "exec"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    (workdir / "daemon.json").write_text("{}\n")
    sock = workdir / "docker.sock"
    Path("/etc/docker").mkdir(exist_ok=True)
    Path("/run/containerd").mkdir(parents=True, exist_ok=True)
    script = (f"mount --bind {workdir}/etc-docker /etc/docker && "
              f"mount --bind {workdir}/run-containerd /run/containerd && "
              f"exec dockerd --config-file {workdir}/daemon.json --data-root {workdir}/data "
              f"--exec-root {workdir}/exec --pidfile {workdir}/dockerd.pid -H unix://{sock} "
              "--iptables=false --ip6tables=false --bridge=none")
    log = open(workdir / "dockerd.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(["setsid", "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    d = Dockerd(workdir, proc.pid, sock)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            d.stop()
            raise RuntimeError(f"dockerd did not start: {(workdir / 'dockerd.log').read_text()[-2000:]}")
        time.sleep(0.1)
    return d


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    missing = missing_tools()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"container builds need {', '.join(missing)} (make deps installs them)")
        pytest.skip(f"missing {', '.join(missing)}")
    # a short path: unix socket paths are limited to 108 bytes
    workdir = Path(tmp_path_factory.mktemp("dockerd"))
    d = start_dockerd(workdir)
    yield d
    d.stop()
