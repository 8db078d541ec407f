"""Hostile YAML and charts for ``sealer find-images``, run through the CLI with time and memory measured."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers.hostile_text import BILLION_LAUGHS

SEALER = [sys.executable, "-m", "sealer.cli.main"]

BOMB = BILLION_LAUGHS + 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx, args: *i}]}\n'


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _chart(root: Path, name: str, template: str) -> None:
    _write(root / "charts" / name / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    _write(root / "charts" / name / "values.yaml", "{}\n")
    _write(root / "charts" / name / "templates" / "x.yaml", template)


def billion_laughs(root: Path) -> None:
    _write(root / "manifests" / "bomb.yaml", BOMB)


def deep_flow_nesting(root: Path) -> None:
    _write(root / "manifests" / "deep.yaml", "apiVersion: v1\nkind: List\nitems: " + "[" * 20000 + "]" * 20000 + "\n")


def deep_block_nesting(root: Path) -> None:
    _write(root / "manifests" / "deep.yaml", "apiVersion: v1\nkind: Pod\nspec:\n" + "".join(
        " " * (i + 1) + f"k{i}:\n" for i in range(1500)) + " " * 1501 + "x: 1\n")


def bomb_in_values(root: Path) -> None:
    _chart(root, "app", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n")
    _write(root / "charts" / "app.values.yaml", BOMB)


def looping_template(root: Path) -> None:
    _chart(root, "loop", "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}")


def huge_template_output(root: Path) -> None:
    _chart(root, "big", "{{ range until 100000000 }}" + "a" * 60 + "{{ end }}")


def huge_manifest(root: Path, mib: int = 24) -> None:
    """Many documents (a huge file is streamed one document at a time)."""
    doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: " + "v" * 1000 + "}\n"
    _write(root / "manifests" / "huge.yaml", doc * (mib * 1024 * 1024 // len(doc)))


# name -> (writer, must fail)
CASES: dict[str, tuple[Callable[[Path], None], bool]] = {
    "billion_laughs": (billion_laughs, True),
    "deep_flow_nesting": (deep_flow_nesting, True),
    "deep_block_nesting": (deep_block_nesting, True),
    "bomb_in_values": (bomb_in_values, True),
    "looping_template": (looping_template, True),
    "huge_template_output": (huge_template_output, True),
    "huge_manifest": (huge_manifest, False),
}


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss: int    # bytes, the CLI and the render workers it waited for

    @property
    def clean(self) -> bool:
        """Finished with a clean message (an error names a file), never a traceback."""
        return "Traceback" not in self.stderr and (self.returncode == 0 or "Error:" in self.stderr)


def run_measured(args: list[str], timeout: float, env: dict[str, str] | None = None) -> Measured:
    """Run a command, wait for it with ``wait4`` to get its peak memory; kill it (by PID) on timeout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(args, stdout=out, stderr=err, env={**os.environ, **(env or {})},
                             start_new_session=True)
        deadline = t0 + timeout
        status = None
        rusage = None
        while time.monotonic() < deadline:
            pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
        else:
            os.killpg(p.pid, 9)
            _, status, rusage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status) if status is not None else -9
        took = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return Measured(p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        took, (rusage.ru_maxrss if rusage else 0) * 1024)


def find_images(root: Path, chart_timeout: float = 3, timeout: float = 120) -> Measured:
    return run_measured([*SEALER, "find-images", str(root), "--chart-timeout", str(chart_timeout)], timeout)
