"""The fuzz target: a short run in the suite (``make stress`` runs 10^5 cases)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from sealer.kubefile import Kubefile, parse

SCRIPT = Path(__file__).with_name("fuzz_kubefile.py")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_kubefile_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_reports_zero_crashes() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "3000", "--seed", "20240601"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "cases: 3000 crashes: 0"


def test_fuzzer_counts_crashes_and_exits_non_zero() -> None:
    fuzz = _load()

    def broken(data: bytes | str, filename: str) -> Kubefile:
        if isinstance(data, bytes) and b"RUN" in data:
            raise IndexError("simulated parser bug")
        return parse(data, filename)

    lines: list[str] = []
    crashes = fuzz.run(300, seed=5, target=broken, show=1, out=lines.append)
    assert crashes > 0
    assert lines[-1] == f"cases: 300 crashes: {crashes}"
    assert "IndexError: simulated parser bug" in lines[0]


def test_fuzzer_flags_unstable_canonical_text() -> None:
    fuzz = _load()

    def unstable(data: bytes | str, filename: str) -> Kubefile:
        kf = parse(data, filename)
        if isinstance(data, str):  # the re-parse of the canonical text loses the last step
            return Kubefile(kf.instructions[:-1] or kf.instructions, filename)
        return kf

    problem = fuzz.check(b"FROM scratch\nCMD a\n", target=unstable)
    assert problem == "canonical text parses back to different instructions"
    assert fuzz.check(b"FROM scratch\nCMD a\n") is None
    assert fuzz.check(b"\x00") is None
