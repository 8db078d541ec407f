"""The Kubefile parser fuzz target (tests/kubefile/fuzz_kubefile.py), short run: no crash in 500 cases."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parents[1] / "kubefile" / "fuzz_kubefile.py"


def run_fuzz(cases: int, seed: int = 0, timeout: float = 3600) -> tuple[int, int, str]:
    """Run the fuzz script; returns (cases, crashes, output tail)."""
    p = subprocess.run([sys.executable, str(FUZZ), str(cases), "--seed", str(seed)], capture_output=True,
                       text=True, timeout=timeout, check=False)
    m = re.search(r"cases: (\d+) crashes: (\d+)", p.stdout)
    if m is None:
        return 0, -1, (p.stdout + p.stderr)[-2000:]
    return int(m.group(1)), int(m.group(2)), (p.stdout + p.stderr)[-2000:]


def test_kubefile_fuzz_short() -> None:
    cases, crashes, tail = run_fuzz(500, seed=8)
    assert cases == 500 and crashes == 0, tail
