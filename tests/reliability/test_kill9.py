"""kill -9 at random moments of builds, loads, tags, rmi and gc: the store stays consistent (short version;
``make stress`` runs 100 rounds)."""

from __future__ import annotations

from pathlib import Path

from .killrounds import KillTally, kill_mid_write, run_kill_rounds, setup


def test_kill9_rounds_leave_a_consistent_store(tmp_path: Path) -> None:
    tally = run_kill_rounds(tmp_path, rounds=5, seed=6, max_delay=0.5)
    assert tally.rounds == 5 and tally.started >= 5
    assert tally.killed_mid_op >= 1, f"no kill landed inside an operation (holding its lease): {tally}"
    assert tally.bad == 0, tally.problems


def test_kill9_while_a_layer_blob_is_half_written(tmp_path: Path) -> None:
    """Deterministic: the kill waits (by polling) until ingest/ holds a partly written blob."""
    root, _ = setup(tmp_path)
    tally = KillTally()
    assert kill_mid_write(tmp_path, root, tally), "the build finished before any blob was seen mid-write"
    assert tally.killed == 1 and tally.killed_mid_write == 1, tally
    assert tally.bad == 0, tally.problems
