"""Fixtures of the reliability suite: a CLI runner bound to one store, and the real-registry fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers.registry import registry, tls_registry  # noqa: F401

from sealer.cli.main import cli

SEALER = [sys.executable, "-m", "sealer.cli.main"]


class Sealer:
    """Runs the real CLI against one store root (in-process, or as a subprocess with ``proc``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, ok: bool = True, env: dict[str, str] | None = None,
                 input: bytes | None = None) -> Result:
        r = CliRunner().invoke(cli, ["--root", str(self.root), *args], input=input, env=env,
                               catch_exceptions=True)
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            raise AssertionError(f"sealer {' '.join(args)} raised {r.exception!r} (a traceback, not a clean error)"
                                 ) from r.exception
        if ok and r.exit_code != 0:
            raise AssertionError(f"sealer {' '.join(args)} exited {r.exit_code}:\n{r.output}")
        return r

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def proc(self, *args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
        full = dict(os.environ, SEALER_ROOT=str(self.root), **(env or {}))
        return subprocess.run([*SEALER, *args], env=full, capture_output=True, text=True, **kw)


@pytest.fixture
def sealer(store_root: Path) -> Sealer:
    return Sealer(store_root)
