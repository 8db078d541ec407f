"""Shared test helpers (importable as ``helpers`` because ``tests/`` is on the test pythonpath)."""
