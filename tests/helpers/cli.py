"""The one CLI runner of the tests: the real ``sealer`` CLI against one store root, in process (CliRunner) or
as a subprocess. The ``sealer`` fixture (tests/conftest.py) gives one per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from sealer.cli.main import cli

SEALER = [sys.executable, "-m", "sealer.cli.main"]


class Sealer:
    """Runs the real CLI against one store root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, ok: bool = True, input: bytes | None = None) -> Result:
        r = CliRunner().invoke(cli, ["--root", str(self.root), *args], input=input, catch_exceptions=False)
        if ok and r.exit_code != 0:
            raise AssertionError(f"sealer {' '.join(args)} exited {r.exit_code}:\n{r.output}")
        return r

    def json(self, *args: str) -> Any:
        r = self(*args, "--json")
        return json.loads(r.stdout)

    def proc(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, SEALER_ROOT=str(self.root))
        return subprocess.run([*SEALER, *args], env=env, capture_output=True, text=True, **kw)
