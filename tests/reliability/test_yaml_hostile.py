"""Hostile YAML and charts through ``sealer find-images``: a clean error (or a clean result) within a time and
memory bound. Discovery's own tests cover the library; these go through the CLI as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.discover.render_worker import DEFAULT_MEMORY_MB

from .yamlbombs import CASES, find_images, huge_template_output

MAX_SECONDS = 30
MAX_RSS = 1 << 30
# the render worker's default memory cap (512 MiB), doubled for the Go runtime and the CLI around it: 1 GiB
MAX_RSS_CAPPED = 2 * (DEFAULT_MEMORY_MB << 20)


@pytest.mark.parametrize("case", [c for c in sorted(CASES) if c != "huge_template_output"])
def test_hostile_yaml_is_refused_cleanly(tmp_path: Path, case: str) -> None:
    write, must_fail = CASES[case]
    write(tmp_path / "root")
    r = find_images(tmp_path / "root", chart_timeout=3)
    assert r.clean, r.stderr[-2000:]
    assert r.seconds < MAX_SECONDS, f"{case} took {r.seconds:.1f}s"
    assert r.max_rss < MAX_RSS, f"{case} peaked at {r.max_rss >> 20} MiB"
    if must_fail:
        assert r.returncode != 0, f"{case} was accepted:\n{r.stdout[-500:]}"


def test_template_producing_gigabytes_is_stopped(tmp_path: Path) -> None:
    huge_template_output(tmp_path / "root")
    r = find_images(tmp_path / "root", chart_timeout=3)
    assert r.clean and r.returncode != 0, r.stderr
    assert r.seconds < MAX_SECONDS


def test_template_producing_gigabytes_stays_within_memory(tmp_path: Path) -> None:
    """Regression: render workers had no memory cap and grew ~300 MB/s until the timeout."""
    huge_template_output(tmp_path / "root")
    r = find_images(tmp_path / "root", chart_timeout=20)
    assert r.clean and r.returncode != 0
    assert r.max_rss < MAX_RSS_CAPPED, f"peaked at {r.max_rss >> 20} MiB within a 20 s timeout"


def test_template_out_of_memory_error_says_so(tmp_path: Path) -> None:
    huge_template_output(tmp_path / "root")
    r = find_images(tmp_path / "root", chart_timeout=20)
    assert r.returncode != 0 and "memory" in r.stderr, r.stderr


def test_chart_memory_limit_comes_from_the_cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SEALER_CHART_MEMORY_MB is read by the CLI's settings and handed to the render worker on its command line
    (the worker reads no environment): the error names the limit given."""
    huge_template_output(tmp_path / "root")
    monkeypatch.setenv("SEALER_CHART_MEMORY_MB", "200")
    r = find_images(tmp_path / "root", chart_timeout=20)
    assert r.returncode != 0 and "more than the 200 MiB render memory limit" in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("death", [b"fatal error: runtime: out of memory\n",
                                   b"runtime/cgo: pthread_create failed: Resource temporarily unavailable\nSIGABRT\n",
                                   b"runtime: failed to create new OS thread (have 7 already; errno=11)\n"])
def test_each_way_go_dies_at_the_memory_cap_names_the_limit(death: bytes) -> None:
    """Under the worker's data cap, Go dies at an allocation or, first, at a new thread's stack: both are the
    memory limit, and the error says so (not the raw runtime line)."""
    from sealer.discover.renderpool import _Worker

    w = _Worker()
    try:
        w.stderr.write(death + b"goroutine 1 [running]:\n" * 50)
        w.stderr.flush()
        assert f"more than the {w.memory_mb} MiB render memory limit" in w._stderr_tail()
        w.stderr.seek(0)
        w.stderr.truncate()
        w.stderr.write(b"panic: something else\n")
        assert w._stderr_tail() == "panic: something else"
    finally:
        w.kill()
