"""`sealer apply -f Clusterfile` with password SSH: adding a node touches only it, removing one cleans it; the
password shows up in no output, no host process list and no file on the hosts."""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

from helpers.testhosts import TestHost

from deliver.clusterfiles import write_clusterfile
from deliver.images import FIXTURE_LOG, Built, sealer

DATA = "/var/lib/sealer/data/apply-test"


def clusterfile(path: Path, image: str, password: str, master: str, nodes: list[str]) -> Path:
    return write_clusterfile(path, "apply-test", image, [master], nodes, ssh=f'passwd: "{password}"',
                             env="MyVar=fromfile")


def kubeadm_calls(h: TestHost) -> list[str]:
    r = h.exec(f"cat {FIXTURE_LOG}/kubeadm.log", check=False)
    return [json.loads(line)["argv"][0] for line in r.stdout.splitlines() if line.strip()]


def statuses(summary: dict[str, dict[str, dict[str, str]]], host: str) -> set[str]:
    return {p["status"] for name, p in summary["hosts"][host].items() if name != "connect"}


class ProcessWatch:
    """Samples the command lines of every process in the hosts while a command runs."""

    def __init__(self, hosts: list[TestHost]) -> None:
        self.hosts, self.seen, self._stop = hosts, set[str](), threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for h in self.hosts:
                self.seen.update(h.processes())
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessWatch:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def test_apply_add_and_remove_a_node(built: Built, test_hosts, state_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hosts: list[TestHost] = test_hosts(3, password_auth=True)
    m0, n1, n2 = hosts
    password = "Pw-" + secrets.token_hex(8)
    for h in hosts:
        h.set_password("root", password)
    cf = tmp_path / "Clusterfile"
    outputs = []
    base = ["apply", "-f", str(cf), "--state-dir", str(state_dir), "--json", "--compress"]

    clusterfile(cf, built.app, password, m0.address, [n1.address])
    with ProcessWatch(hosts) as watch:
        outputs.append(sealer(built.root, *base))
    assert watch.seen and not [p for p in watch.seen if password in p]
    assert kubeadm_calls(m0) == ["init"] and kubeadm_calls(n1) == ["join"]
    assert n2.exec(f"test -e {DATA}", check=False).returncode != 0

    # add n2: only n2 does anything; master0 and n1 have every phase already
    clusterfile(cf, built.app, password, m0.address, [n1.address, n2.address])
    out = sealer(built.root, *base)
    outputs.append(out)
    summary = json.loads(out[out.index("{"):])
    assert summary["added"] == [n2.address] and summary["removed"] == []
    assert statuses(summary, m0.address) == {"skipped"} and statuses(summary, n1.address) == {"skipped"}
    assert statuses(summary, n2.address) == {"done"}
    assert kubeadm_calls(m0) == ["init"] and kubeadm_calls(n1) == ["join"] and kubeadm_calls(n2) == ["join"]
    assert n2.read(f"{DATA}/rootfs/etc/app.conf").endswith("mine=fromfile\n")

    # drop n1: it is cleaned (kubeadm reset, clean.sh, our hosts lines, the data root); the others untouched
    clusterfile(cf, built.app, password, m0.address, [n2.address])
    out = sealer(built.root, *base)
    outputs.append(out)
    summary = json.loads(out[out.index("{"):])
    assert summary["removed"] == [n1.address] and summary["added"] == []
    assert n1.exec(f"test -e {DATA}", check=False).returncode != 0
    assert "sealer-py" not in n1.read("/etc/hosts")
    assert kubeadm_calls(n1) == ["join", "reset"]
    assert not [p for p in n1.processes() if p.startswith("containerd")]
    assert kubeadm_calls(m0) == ["init"] and kubeadm_calls(n2) == ["join"]
    saved = (state_dir / "apply-test" / "Clusterfile").read_text()
    assert n1.address not in saved and n2.address in saved

    # the password: in no output, no file on any host
    assert not [o for o in outputs if password in o]
    for h in hosts:
        r = h.exec(f"grep -rl -F -- {password} /var/lib/sealer /etc/hosts /etc/containerd", check=False)
        assert r.stdout == "", f"{h.address}: {r.stdout}"

    outputs.append(sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir)))
    assert m0.exec(f"test -e {DATA}", check=False).returncode != 0
    assert not [o for o in outputs if password in o]
