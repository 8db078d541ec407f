"""Issue 16 items 1+2: text from users, images and commands is printed as plain text, controls escaped.

Every case runs the real CLI in a subprocess (stdout/stderr piped, as in a script) and, for the table and the
error path, also on a pseudo-terminal so Rich's terminal rendering is exercised too.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from sealer.cli.text import escape_controls, plain

from .craft import put_image

SEALER = [sys.executable, "-m", "sealer.cli.main"]
ESC_TITLE = "\x1b]0;pwned\x07\x1b[2J"


def run(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEALER_ROOT=str(root))
    return subprocess.run([*SEALER, *args], env=env, capture_output=True, text=True, cwd=cwd, timeout=120)


def run_tty(root: Path, *args: str) -> tuple[int, str]:
    """Run on a pty (stdout and stderr both a terminal); returns exit code and everything printed."""
    env = dict(os.environ, SEALER_ROOT=str(root), COLUMNS="120", TERM="xterm")
    master, slave = pty.openpty()
    p = subprocess.Popen([*SEALER, *args], env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            break
    rc = p.wait(timeout=30)
    os.close(master)
    return rc, b"".join(chunks).decode("utf-8", "replace")


def strip_sgr(s: str) -> str:
    """Drop the colour codes Rich itself emits (ESC [ ... m), nothing else."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", s)


def test_escape_controls_unit() -> None:
    assert escape_controls(ESC_TITLE) == "\\x1b]0;pwned\\x07\\x1b[2J"
    assert escape_controls("a\tb\nc\r") == "a\tb\nc\\x0d"
    assert escape_controls("x\u202ey") == "x\\u202ey"
    assert escape_controls("a\nb", keep_newlines=False) == "a\\nb"
    t = plain("[red]x[/] :smile:")
    assert t.plain == "[red]x[/] :smile:" and not t.spans


def test_inspect_markup_reference_is_a_clean_error(store_root: Path) -> None:
    r = run(store_root, "inspect", "x[/]")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr
    assert "x[/]" in r.stderr and r.stderr.startswith("Error:")


def test_tag_with_colons_is_echoed_verbatim(store_root: Path, tmp_path: Path) -> None:
    put_image(store_root, "src:v1")
    r = run(store_root, "tag", "src:v1", "a:b:c")
    assert r.returncode == 1
    assert "a:b:c" in r.stderr and "🅱" not in r.stderr
    rc, text = run_tty(store_root, "tag", "src:v1", "a:b:c")
    assert rc == 1 and "a:b:c" in strip_sgr(text) and "🅱" not in text


def test_images_survives_markup_in_architecture(store_root: Path) -> None:
    put_image(store_root, "good:v1")
    put_image(store_root, "weird:v1", config={"architecture": "[/]"})
    r = run(store_root, "images")
    assert r.returncode == 0, r.stderr
    assert "linux/[/]" in r.stdout and "good" in r.stdout and "weird" in r.stdout
    rc, text = run_tty(store_root, "images")
    assert rc == 0 and "linux/[/]" in strip_sgr(text) and "MarkupError" not in text


def test_inspect_shows_markup_emoji_and_escapes_verbatim(store_root: Path) -> None:
    cmds = ['echo "see [red]"', "echo :smile:", f"echo ok{ESC_TITLE}", "cat [/etc/app.conf]"]
    put_image(store_root, "evil:v1", labels={"io.sealer.cmds": json.dumps(cmds)},
              history=[{"created_by": 'RUN echo "see [red]" [/] :smile:'}])
    for rc, text in [(lambda r: (r.returncode, r.stdout + r.stderr))(run(store_root, "inspect", "evil:v1")),
                     run_tty(store_root, "inspect", "evil:v1")]:
        shown = strip_sgr(text)
        assert rc == 0, text
        assert 'echo "see [red]"' in shown
        assert "echo :smile:" in shown and "😄" not in shown
        assert "cat [/etc/app.conf]" in shown
        assert 'RUN echo "see [red]" [/] :smile:' in shown
        # the escape sequence is shown, not executed: no raw ESC other than Rich's own colour codes
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in shown
        assert "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text


def test_run_failure_with_brackets_keeps_the_real_error(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text(
        "FROM scratch\n"
        "RUN printf '%s\\n' '[/etc/app.conf]' 'see [red]' ':smile:' $'\\x1b]0;t\\x07\\x1b[2J'; "
        "echo 'real error: disk on fire' >&2; exit 3\n")
    r = run(store_root, "build", "-b", "lite", "-t", "t:v1", str(ctx))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr
    assert "real error: disk on fire" in r.stderr
    assert "[/etc/app.conf]" in r.stderr and "see [red]" in r.stderr and ":smile:" in r.stderr
    assert "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr
    assert "Kubefile:2" in r.stderr
    rc, text = run_tty(store_root, "build", "-b", "lite", "-t", "t:v1", str(ctx))
    shown = strip_sgr(text)
    assert rc == 1 and "real error: disk on fire" in shown and "see [red]" in shown and "\x1b]" not in text


def test_build_step_echo_is_verbatim(store_root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text('FROM scratch\nRUN echo "see [red]" :smile:\nCMD echo :smile: [/]\n')
    r = run(store_root, "build", "-b", "lite", "-t", "t:v1", str(ctx))
    assert r.returncode == 0, r.stderr
    assert 'echo "see [red]" :smile:' in r.stderr and "see [red] :smile:" in r.stderr
    i = run(store_root, "inspect", "t:v1")
    assert "echo :smile: [/]" in i.stdout and 'RUN echo "see [red]" :smile:' in i.stdout


def test_images_piped_never_truncates_or_pads(store_root: Path) -> None:
    long = "registry.example.com:5000/" + "/".join(["segment" + str(i) for i in range(21)]) + ":v1"
    put_image(store_root, long)
    r = run(store_root, "images")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert any("segment20:v1" in ln or "segment20  v1" in ln for ln in lines)
    assert all(ln == ln.rstrip() for ln in lines)
