"""Issue 16 item 7: ordinary OS failures and size/recursion limits are one-line errors naming the path and the
cause (exit 1, never the "internal error" exit 70); a broken pipe on stdout exits quietly."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .craft import put_image

SEALER = [sys.executable, "-m", "sealer.cli.main"]
DEEP = b"[" * 100_000 + b"]" * 100_000


def run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEALER, "--root", str(root), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))


def one_line_error(r: subprocess.CompletedProcess[str], *needles: str, progress: bool = False) -> None:
    """Exit 1 and exactly one error line (after the build's step lines when ``progress``)."""
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Internal error" not in r.stderr and "This is a bug" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    if progress:
        lines = [ln for ln in lines if not ln.startswith(("STEP", "  "))]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


@contextlib.contextmanager
def tiny_fs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_load_missing_file_and_directory(store_root: Path, tmp_path: Path) -> None:
    one_line_error(run(store_root, "load", "-i", "/nonexistent.tar"), "load /nonexistent.tar", "no such file")
    one_line_error(run(store_root, "load", "-i", str(tmp_path)), f"load {tmp_path}", "is a directory")


def test_save_to_missing_dir_and_to_a_directory(store_root: Path, tmp_path: Path) -> None:
    put_image(store_root, "img:v1")
    one_line_error(run(store_root, "save", "-o", "/nonexistent/dir/x.tar", "img:v1"),
                   "/nonexistent/dir/x.tar", "does not exist")
    one_line_error(run(store_root, "save", "-o", str(tmp_path), "img:v1"), str(tmp_path), "is a directory")
    assert not list(tmp_path.glob(".*.partial"))


def test_root_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "hostname"
    f.write_text("x")
    one_line_error(run(f, "images"), str(f), "not a directory")


def test_save_to_stdout_into_a_closed_pipe_is_quiet(store_root: Path) -> None:
    put_image(store_root, "img:v1", labels={"pad": "x" * 300_000})
    env = dict(os.environ)
    p = subprocess.Popen([*SEALER, "--root", str(store_root), "save", "-o", "-", "img:v1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout is not None
    p.stdout.read(10)
    p.stdout.close()
    _, err = p.communicate(timeout=60)
    assert p.returncode == 141, err
    assert err.decode().strip() == ""


def test_images_into_a_closed_pipe_is_quiet(store_root: Path) -> None:
    for i in range(300):
        put_image(store_root, f"img{i}:v1") if i == 0 else None
    r = subprocess.run(f"{' '.join(SEALER)} --root {store_root} images | head -c 1 >/dev/null",
                       shell=True, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in r.stderr and "Broken pipe" not in r.stderr


def test_source_date_epoch_out_of_range(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCMD echo hi\n")
    one_line_error(run(store_root, "build", "-b", "lite", "-t", "t:v1", str(ctx),
                       SOURCE_DATE_EPOCH="99999999999999"), "SOURCE_DATE_EPOCH=99999999999999", "out of range",
                   progress=True)


def _layout_tar(index: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_deeply_nested_index_json_in_a_loaded_archive(store_root: Path, tmp_path: Path) -> None:
    tar = tmp_path / "deep.tar"
    tar.write_bytes(_layout_tar(DEEP))
    one_line_error(run(store_root, "load", "-i", str(tar)), "index.json", "nested deeper than 64")
    assert json.loads((store_root / "index.json").read_text())["manifests"] == []


def test_deeply_nested_label_and_config(store_root: Path) -> None:
    put_image(store_root, "deep:v1", labels={"io.sealer.cmds": DEEP.decode()})
    one_line_error(run(store_root, "inspect", "deep:v1"), "label io.sealer.cmds", "nested deeper than 64")
    put_image(store_root, "deepcfg:v1", config={"x": json.loads(b"[" * 500 + b"]" * 500)})
    one_line_error(run(store_root, "inspect", "deepcfg:v1"), "image config", "nested deeper than 64")


def test_deeply_nested_store_index(store_root: Path) -> None:
    put_image(store_root, "img:v1")
    (store_root / "index.json").write_bytes(DEEP)
    one_line_error(run(store_root, "images"), "index.json", "nested deeper than 64")


def test_enospc_while_saving(store_root: Path, tmp_path: Path) -> None:
    put_image(store_root, "big:v1", labels={"pad": os.urandom(400_000).hex()})
    with tiny_fs(tmp_path / "small", "256k") as small:
        out = small / "x.tar"
        one_line_error(run(store_root, "save", "-o", str(out), "big:v1"), str(out), "no space left on device")
        assert list(small.iterdir()) == []


def test_enospc_while_writing_a_run_layer(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nRUN head -c 700000 /dev/urandom > big.bin\n")
    with tiny_fs(tmp_path / "small", "1m") as small:
        root = small / "store"
        r = run(root, "build", "-b", "lite", "-t", "t:v1", str(ctx))
        one_line_error(r, f"{ctx / 'Kubefile'}:2: RUN: no space left on device", progress=True)
        assert json.loads((root / "index.json").read_text())["manifests"] == []


def test_enospc_while_loading_is_not_called_corrupt(tmp_path: Path) -> None:
    src = tmp_path / "src"
    put_image(src, "big:v1", labels={"pad": os.urandom(400_000).hex()})
    tar = tmp_path / "big.tar"
    assert run(src, "save", "-o", str(tar), "big:v1").returncode == 0
    with tiny_fs(tmp_path / "small", "512k") as small:
        root = small / "store"
        r = run(root, "load", "-i", str(tar))
        one_line_error(r, "no space left on device")
        assert "corrupt" not in r.stderr


def test_read_only_store_is_a_clear_error(store_root: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    put_image(store_root, "img:v1")
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(store_root), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only")
        assert run(ro, "images").returncode == 0  # reading works
        one_line_error(run(ro, "tag", "img:v1", "other:v1"), "read-only file system", "--root on a writable")
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
