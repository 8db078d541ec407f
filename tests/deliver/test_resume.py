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
                 "--pk", key, "-e", "MyVar=x", "--state-dir", str(state_dir), "--json")
    summary = json.loads(out[out.index("{"):])["hosts"]
    for h in (m0, n1):
        for phase in ("send", "render", "hosts", "init"):
            assert summary[h.address][phase]["status"] == "skipped", (h.address, phase)
    assert summary[n2.address]["send"]["status"] == "skipped"
    assert summary[n2.address]["hosts"]["status"] == "done" and summary[n2.address]["kubeadm"]["status"] == "done"
    assert m0.exec(f"grep -c '\"init\"' {FIXTURE_LOG}/kubeadm.log").stdout.strip() == "1"
    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
