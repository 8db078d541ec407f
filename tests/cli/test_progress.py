"""Progress for long local work: drawn (rich) only when stderr is a terminal; piped output is unchanged.

The terminal runs are real: the CLI runs in a child process whose stderr is a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from sealer.progress import set_task_reporter
from sealer.store import Store

RUN_CLI = "import sys; from sealer.cli.main import main; sys.argv[0] = 'sealer'; main()"


def _run(args: list[str], tty: bool) -> tuple[int, bytes, bytes]:
    """Run the CLI; with ``tty`` its stderr is a pseudo-terminal. Returns (code, stdout, stderr/terminal)."""
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    if not tty:
        p = subprocess.run([sys.executable, "-c", RUN_CLI, *args], capture_output=True, env=env, timeout=120)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    term = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        term += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(timeout=120), out, term


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big.bin").write_bytes(os.urandom(4 << 20))
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY big.bin .\n")
    return ctx


def test_copy_build_and_save_show_progress_on_a_terminal(tmp_path: Path) -> None:
    root = str(tmp_path / "s")
    code, out, term = _run(["--root", root, "build", "-b", "lite", "-t", "p:v1", str(_context(tmp_path))], tty=True)
    assert code == 0, term
    assert b"copying" in term and b"Successfully built" in out
    code, out, term = _run(["--root", root, "save", "-o", str(tmp_path / "p.tar"), "p:v1"], tty=True)
    assert code == 0, term
    assert b"saving" in term and b"saved docker.io/library/p:v1" in term
    code, out, term = _run(["--root", str(tmp_path / "s2"), "load", "-i", str(tmp_path / "p.tar")], tty=True)
    assert code == 0, term
    assert b"loading" in term and b"loaded: docker.io/library/p:v1" in out
    code, out, term = _run(["--root", root, "export-rootfs", "p:v1", str(tmp_path / "rootfs")], tty=True)
    assert code == 0, term
    assert b"exporting" in term


def test_piped_output_has_no_progress_and_is_unchanged(tmp_path: Path) -> None:
    root = str(tmp_path / "s")
    ctx = _context(tmp_path)
    code, out, err = _run(["--root", root, "build", "-b", "lite", "-t", "p:v1", str(ctx)], tty=False)
    assert code == 0, err
    assert b"copying" not in err and b"\x1b" not in err and b"\x1b" not in out
    code, out, err = _run(["--root", root, "save", "-o", str(tmp_path / "p.tar"), "p:v1"], tty=False)
    assert (code, out, err) == (0, b"", b"saved docker.io/library/p:v1\n")
    code, out, err = _run(["--root", str(tmp_path / "s2"), "load", "-i", str(tmp_path / "p.tar")], tty=False)
    assert (code, out, err) == (0, b"loaded: docker.io/library/p:v1\n", b"")
    code, out, err = _run(["--root", root, "export-rootfs", "p:v1", str(tmp_path / "rootfs")], tty=False)
    assert (code, out, err) == (0, b"", f"rootfs of p:v1 written to {tmp_path / 'rootfs'}\n".encode())


def test_quiet_build_on_a_terminal_shows_no_progress(tmp_path: Path) -> None:
    code, out, term = _run(["--root", str(tmp_path / "s"), "build", "-q", "-b", "lite", "-t", "p:v1",
                            str(_context(tmp_path))], tty=True)
    assert code == 0, term
    assert b"copying" not in term


class _Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, name: str, total: int | None = None) -> None:
        self.started.append(name)

    def advance(self, n: int) -> None:
        pass

    def done(self) -> None:
        pass


def test_waiting_for_the_store_lock_is_reported_after_a_second(tmp_path: Path) -> None:
    store = Store(tmp_path / "s", create=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock\n"
         "with FileLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(2)", str(store.root / "index.lock")],
        stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    rec = _Recorder()
    prev = set_task_reporter(rec)
    try:
        with store.locked():
            pass
        assert rec.started == ["waiting for the store lock"]
        rec.started.clear()
        with store.locked():  # free at once: nothing said
            pass
        assert rec.started == []
    finally:
        set_task_reporter(prev)
        holder.wait(timeout=10)
        time.sleep(0)
