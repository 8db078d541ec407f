"""The library's resource limits and the state dir come from the CLI's settings (the library reads no
environment variable): names, defaults and precedence as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sealer import limits, netguard
from sealer.cli import cloud
from sealer.cli.settings import Settings
from sealer.cluster import bounded
from sealer.deliver import state

SRC = Path(__file__).resolve().parents[2] / "src" / "sealer"


def test_limits_from_the_environment(tmp_path: Path) -> None:
    d = Settings.from_environment(tmp_path, env={}).limits
    assert d == limits.Limits()
    assert (d.chart_memory_mb, d.template_memory_mb, d.template_timeout, d.net_min_rate, d.net_window) == \
        (512, 512, 30.0, 1024.0, 30.0)
    s = Settings.from_environment(tmp_path, env={
        "SEALER_CHART_MEMORY_MB": "64", "SEALER_TEMPLATE_MEMORY_MB": "128", "SEALER_TEMPLATE_TIMEOUT": "2.5",
        "SEALER_NET_MIN_RATE": "10", "SEALER_NET_WINDOW": "0"}).limits
    assert s == limits.Limits(chart_memory_mb=64, template_memory_mb=128, template_timeout=2.5,
                              net_min_rate=10.0, net_window=0.0)
    bad = Settings.from_environment(tmp_path, env={"SEALER_TEMPLATE_TIMEOUT": "soon", "SEALER_NET_WINDOW": ""})
    assert bad.limits == limits.Limits()  # not a number: the default, as before


def test_configured_limits_reach_the_library(tmp_path: Path) -> None:
    s = Settings.from_environment(tmp_path, env={"SEALER_TEMPLATE_TIMEOUT": "7", "SEALER_TEMPLATE_MEMORY_MB": "99",
                                                 "SEALER_NET_MIN_RATE": "5", "SEALER_NET_WINDOW": "3"})
    try:
        s.configure_library()
        assert bounded.render_timeout() == 7.0 and bounded.memory_limit_mb() == 99
        guard = netguard.ProgressGuard("x", "r")
        assert (guard.min_rate, guard.window) == (5.0, 3.0)
    finally:
        limits.configure(limits.Limits())
    assert bounded.render_timeout() == 30.0


def test_state_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path.home()
    s = Settings.from_environment(tmp_path, env={})
    assert s.state_dir_for(None) == home / ".sealer" == state.state_dir()
    s = Settings.from_environment(tmp_path, env={"SEALER_STATE_DIR": str(tmp_path / "st")})
    assert s.state_dir_for(None) == tmp_path / "st"
    assert s.state_dir_for(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.setenv("SEALER_STATE_DIR", str(tmp_path / "st"))
    assert cloud.state_dir() == tmp_path / "st" and cloud.state_dir(tmp_path / "f") == tmp_path / "f"
    assert state.state_dir() == home / ".sealer"  # the library is handed the directory, never reads the variable


def test_only_the_cli_reads_the_environment() -> None:
    reads = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[|environ\.get\(\"SEALER")
    offenders = [f"{p.relative_to(SRC)}:{n}" for p in sorted(SRC.rglob("*.py")) if p.parts[len(SRC.parts)] != "cli"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if reads.search(line)]
    assert offenders == []
