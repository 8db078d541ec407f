"""Issue 16 item 5: SIGINT and SIGTERM cancel a build's RUN within 2 s, kill the RUN's whole process group
(background children of `RUN cmd &` included), exit 130/143 and leave the store as it was; a RUN that leaves
background processes behind has them killed when the step ends; save removes its partial file."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .craft import put_image
from .procwatch import alive, reap, signal_and_wait, wait_for_child

SEALER = [sys.executable, "-m", "sealer.cli.main"]


def procs_with(marker: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmd and state != "Z":
                out.append(int(d))
    return out


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def snapshot(root: Path) -> tuple[bytes, set[str]]:
    return (root / "index.json").read_bytes(), {p.name for p in (root / "blobs" / "sha256").iterdir()}


@pytest.mark.parametrize("sig,code,group", [(signal.SIGINT, 130, True), (signal.SIGINT, 130, False),
                                            (signal.SIGTERM, 143, False)])
def test_signal_during_run_kills_the_group_and_keeps_the_store(store_root: Path, tmp_path: Path,
                                                                sig: signal.Signals, code: int, group: bool) -> None:
    put_image(store_root, "before:v1")
    before = snapshot(store_root)
    marker = f"{random.randint(100000, 999999)}.5"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "data.txt").write_text("x")
    (ctx / "Kubefile").write_text(f"FROM scratch\nCOPY data.txt .\nRUN sleep 1{marker} & sleep 2{marker}\n")
    p = subprocess.Popen([*SEALER, "--root", str(store_root), "build", "-b", "lite", "-t", "t:v1", str(ctx)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(procs_with(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(procs_with(marker)) >= 2, "RUN never started"
        t0 = time.monotonic()
        if group:
            os.killpg(p.pid, sig)   # a terminal's Ctrl-C: the whole foreground group
        else:
            os.kill(p.pid, sig)
        _, err = p.communicate(timeout=20)
        took = time.monotonic() - t0
        left = procs_with(marker)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        kill_all(procs_with(marker))
    assert p.returncode == code, err
    assert took < 2.0, took
    assert left == [], "RUN processes left running"
    assert "Traceback" not in err
    assert snapshot(store_root)[0] == before[0]
    assert list((store_root / "ingest").iterdir()) == []


def test_background_children_are_killed_when_the_step_ends(store_root: Path, tmp_path: Path) -> None:
    marker = f"{random.randint(100000, 999999)}.25"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text(f"FROM scratch\nRUN sleep 3{marker} & (sleep 4{marker} &) ; echo started\n")
    t0 = time.monotonic()
    try:
        r = subprocess.run([*SEALER, "--root", str(store_root), "build", "-b", "lite", "-t", "bg:v1", str(ctx)],
                           capture_output=True, text=True, timeout=120)
        left = procs_with(marker)
    finally:
        kill_all(procs_with(marker))
    assert r.returncode == 0, r.stderr
    assert "started" in r.stderr
    assert left == [], "background children of RUN outlived the step"
    assert time.monotonic() - t0 < 60  # the build did not wait for the background sleeps


def test_save_removes_its_partial_file_when_cancelled(store_root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import sealer.store.archive as archive
    from sealer.cli.main import cli
    from sealer.cli.signals import Terminated

    put_image(store_root, "img:v1")
    real = archive.save

    def interrupted(store: object, refs: list[str], fp: object) -> list[str]:
        real(store, refs, fp)  # type: ignore[arg-type]
        raise Terminated()

    monkeypatch.setattr(archive, "save", interrupted)
    out = tmp_path / "x.tar"
    r = CliRunner().invoke(cli, ["--root", str(store_root), "save", "-o", str(out), "img:v1"])
    assert r.exit_code == 143
    assert not out.exists() and list(tmp_path.glob(".x.tar.partial")) == []


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_while_starting_up_exits_cleanly(store_root: Path, sig: signal.Signals, code: int) -> None:
    p = subprocess.Popen([*SEALER, "--root", str(store_root), "images"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # wait until the CLI package is imported (the _decimal extension loads right after it, while the commands'
    # modules are still importing); before that point nothing of ours runs, so nothing can be handled
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and p.poll() is None:
        try:
            if "_decimal" in Path(f"/proc/{p.pid}/maps").read_text():
                break
        except OSError:
            break
        time.sleep(0.002)
    p.send_signal(sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode in (code, 0), err  # 0 only if it had already finished
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_looping_chart_render(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    chart = tmp_path / "ctx" / "charts" / "loop"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: loop\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text(
        "{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n")
    p = subprocess.Popen([*SEALER, "find-images", str(tmp_path / "ctx")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        workers = wait_for_child(p, b"render_worker", 60)
        assert workers, "chart render never started"
        time.sleep(1.0)
        err, took = signal_and_wait(p, sig, group=sig == signal.SIGINT)
    finally:
        reap(p)
    assert p.returncode == code, err
    assert took < 2.0, took
    assert not any(alive(w) for w in workers)

