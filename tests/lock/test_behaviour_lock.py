"""Behaviour lock: the fixed images of ``lockbuild.py`` still have the manifest digests recorded on the reference
commit (``digests.json``). A refactoring that changes a byte of a built image fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lock import lockbuild


def test_fixed_builds_have_the_recorded_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", lockbuild.EPOCH)
    want = json.loads((Path(__file__).parent / "digests.json").read_text())
    got = lockbuild.build_all(tmp_path)
    assert got == want
