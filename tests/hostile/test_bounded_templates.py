"""Issue 16 item 3: kubeadm templates from an image render in a killable worker with time and memory caps;
Ctrl-C and SIGTERM stop a looping render at once and leave no worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .procwatch import alive, reap, signal_and_wait, wait_for_child

SEALER = [sys.executable, "-m", "sealer.cli.main"]
GOLDEN = Path(__file__).parent.parent / "cluster" / "golden" / "Clusterfile"
HUGE = "{{ range $i := until 100000000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}\n"
NESTED = "{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n"


def make_rootfs(tmp_path: Path, template: str) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "Metadata").write_text('{"version": "v1.19.8", "arch": "amd64"}')
    (root / "etc" / "kubeadm-init.yaml.tmpl").write_text(template)
    return root


def env(**kw: str) -> dict[str, str]:
    return dict(os.environ, **kw)


def test_huge_until_hits_a_limit_and_names_the_file(tmp_path: Path) -> None:
    root = make_rootfs(tmp_path, HUGE)
    t0 = time.monotonic()
    r = subprocess.run([*SEALER, "--root", str(tmp_path / "s"), "kubeadm-config", str(root), "-f", str(GOLDEN)],
                       capture_output=True, text=True, timeout=120,
                       env=env(SEALER_TEMPLATE_TIMEOUT="20", SEALER_TEMPLATE_MEMORY_MB="256"))
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert "kubeadm-init.yaml.tmpl" in r.stderr
    assert "256 MiB memory limit" in r.stderr or "20s time limit" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and took < 60


def test_nested_until_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    root = make_rootfs(tmp_path, NESTED)
    t0 = time.monotonic()
    r = subprocess.run([*SEALER, "--root", str(tmp_path / "s"), "kubeadm-config", str(root), "-f", str(GOLDEN)],
                       capture_output=True, text=True, timeout=120, env=env(SEALER_TEMPLATE_TIMEOUT="3"))
    took = time.monotonic() - t0
    assert r.returncode == 1
    assert "kubeadm-init.yaml.tmpl" in r.stderr and "3s time limit" in r.stderr, r.stderr
    assert took < 30


def test_ordinary_template_still_renders(tmp_path: Path) -> None:
    root = make_rootfs(tmp_path, "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n"
                                 "localAPIEndpoint:\n  advertiseAddress: {{ .Master0 }}\n")
    r = subprocess.run([*SEALER, "--root", str(tmp_path / "s"), "kubeadm-config", str(root), "-f", str(GOLDEN)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "advertiseAddress: 192.168.0.2" in r.stdout


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_looping_render_within_2s(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    root = make_rootfs(tmp_path, NESTED)
    p = subprocess.Popen([*SEALER, "--root", str(tmp_path / "s"), "kubeadm-config", str(root), "-f", str(GOLDEN)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env(SEALER_TEMPLATE_TIMEOUT="120"), start_new_session=True)
    try:
        workers = wait_for_child(p, b"template_worker", 30)
        assert workers, "render worker never started"
        time.sleep(1.0)  # the worker is inside the engine now
        err, took = signal_and_wait(p, sig, group=False, timeout=10)
    finally:
        reap(p)
    assert p.returncode == code, err
    assert took < 2.0, took
    assert not any(alive(w) for w in workers), "render worker left running"
    assert "Traceback" not in err
