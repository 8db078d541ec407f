"""kill -9 at random moments of builds, loads, tags, rmi and gc: the store stays consistent (short version;
``make stress`` runs 100 rounds)."""

from __future__ import annotations

from pathlib import Path

from .killrounds import run_kill_rounds


def test_kill9_rounds_leave_a_consistent_store(tmp_path: Path) -> None:
    tally = run_kill_rounds(tmp_path, rounds=5, seed=5, max_delay=1.0)
    assert tally.rounds == 5 and tally.started >= 5
    assert tally.bad == 0, tally.problems
