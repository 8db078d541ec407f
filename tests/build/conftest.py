"""The build tests use the shared CLI runner (tests/helpers/cli.py, fixture ``sealer`` in tests/conftest.py)."""

from __future__ import annotations

from helpers.cli import SEALER, Sealer

__all__ = ["SEALER", "Sealer"]
