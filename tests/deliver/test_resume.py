"""A node's sshd stops in the middle of `run`: the error names the host and the phase; once sshd is back,
running again completes without redoing the phases the other hosts finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.testhosts import TestHost

from deliver.images import FIXTURE_LOG, Built, sealer
from sealer.cli.main import cli
from sealer.cluster.clusterfile import SSH
from sealer.deliver import ops
from sealer.deliver.errors import DeliveryError
from sealer.deliver.reporter import LogReporter

DATA = "/var/lib/sealer/data/my-cluster"


class StopSshdAfter(LogReporter):
    """Stops ``host``'s sshd (and its sessions) right after it finished ``phase``."""

    def __init__(self, host: TestHost, phase: str) -> None:
        self.host, self.phase = host, phase

    def phase_done(self, host: str, phase: str, *, skipped: bool, seconds: float, detail: str = "") -> None:
        if host == self.host.address and phase == self.phase:
            self.host.stop_sshd()


def markers(h: TestHost) -> dict[str, str]:
    r = h.exec(f"cat {DATA}/.sealer/phases.json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def test_sshd_stops_mid_run_then_rerun_resumes(built: Built, test_hosts, state_dir: Path) -> None:  # type: ignore[no-untyped-def]
    hosts: list[TestHost] = test_hosts(3)
    m0, n1, n2 = hosts
    key = str(m0.ssh_config.pkey)
    cluster = ops.cluster_from_flags("my-cluster", built.app, [m0.address], [n1.address, n2.address],
                                     SSH(pk=key), {"MyVar": "x"})
    with pytest.raises(DeliveryError) as info:
        ops.apply(cluster, built.app, store_root=built.root, state_root=state_dir,
                  reporter=StopSshdAfter(n2, "render"))
    e = info.value
    assert (e.host, e.phase) == (n2.address, "hosts")
    assert f"{n2.address}: phase hosts:" in str(e)
    # the other hosts finished stage 1; n2 stopped after render
    for h in (m0, n1):
        assert {"send", "render", "hosts", "init"} <= set(markers(h)), h.address
    assert set(markers(n2)) == {"send", "render"}

    # through the CLI the same failure is exit 1 with host and phase (sshd still down)
    r = CliRunner().invoke(cli, ["--root", str(built.root), "run", built.app, "-m", m0.address, "-n",
                                 f"{n1.address},{n2.address}", "--pk", key, "-e", "MyVar=x",
                                 "--state-dir", str(state_dir)])
    assert r.exit_code == 1 and n2.address in r.output and "connect" in r.output

    n2.start_sshd()
    out = sealer(built.root, "run", built.app, "-m", m0.address, "-n", f"{n1.address},{n2.address}",
                 "--pk", key, "-e", "MyVar=x", "--state-dir", str(state_dir), "--json",
                 "--cmds", f"echo override-1 >> {FIXTURE_LOG}/cmds.log", "--cmds", f"echo override-2 >> {FIXTURE_LOG}/cmds.log")
    summary = json.loads(out[out.index("{"):])["hosts"]
    for h in (m0, n1):
        for phase in ("send", "render", "hosts", "init"):
            assert summary[h.address][phase]["status"] == "skipped", (h.address, phase)
    assert summary[n2.address]["send"]["status"] == "skipped"
    assert summary[n2.address]["hosts"]["status"] == "done" and summary[n2.address]["kubeadm"]["status"] == "done"
    assert m0.exec(f"grep -c '\"init\"' {FIXTURE_LOG}/kubeadm.log").stdout.strip() == "1"
    # --cmds replaces the image's own CMDs; the base image's still runs first
    lines = m0.read(f"{FIXTURE_LOG}/cmds.log").splitlines()
    assert [line.split()[0] for line in lines] == ["base-first", "override-1", "override-2"]

    # scale down and up again with the saved state: delete -n, join -n
    out = sealer(built.root, "delete", "-n", n2.address, "--state-dir", str(state_dir))
    assert f"removed: {n2.address}" in out
    assert n2.exec(f"test -e {DATA}", check=False).returncode != 0 and "sealer-py" not in n2.read("/etc/hosts")
    assert n2.address not in (state_dir / "my-cluster" / "Clusterfile").read_text()
    out = sealer(built.root, "join", "-n", n2.address, "--state-dir", str(state_dir), "--json")
    joined = json.loads(out[out.index("{"):])
    assert joined["added"] == [n2.address]
    assert {p["status"] for name, p in joined["hosts"][n1.address].items() if name != "connect"} == {"skipped"}
    calls = [json.loads(line)["argv"][0] for line in n2.read(f"{FIXTURE_LOG}/kubeadm.log").splitlines()]
    assert calls == ["join", "reset", "join"]
    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))


def test_ctrl_c_stops_the_remote_command(built: Built, test_hosts, state_dir: Path) -> None:  # type: ignore[no-untyped-def]
    import signal
    import subprocess
    import sys
    import time

    (m0,) = test_hosts(1)
    p = subprocess.Popen([sys.executable, "-m", "sealer.cli.main", "--root", str(built.root), "run", built.app,
                          "-m", m0.address, "--pk", str(m0.ssh_config.pkey), "-e", "MyVar=x",
                          "--state-dir", str(state_dir), "--cmds", "sleep 321"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any("sleep 321" in c for c in m0.processes()):
            assert p.poll() is None, p.communicate()[0]
            assert time.monotonic() < deadline, "the CMD never started"
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, out
    assert "interrupted" in out
    deadline = time.monotonic() + 15
    while any("sleep 321" in c for c in m0.processes()):
        assert time.monotonic() < deadline, "the remote CMD survived Ctrl-C"
        time.sleep(0.1)
    assert "cmds" not in markers(m0)   # not recorded as done: the next run does it again
    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
