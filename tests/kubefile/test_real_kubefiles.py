"""Real Kubefiles gathered from public repositories (tests/kubefile/real/SOURCES.tsv: file, repository, commit,
path) all parse; the rejected kinds named in issue 18 each parse here too."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sealer.kubefile import App, Cmd, Cmds, Copy, Label, Launch, parse

REAL = Path(__file__).parent / "real"
SOURCES = list(csv.reader((REAL / "SOURCES.tsv").read_text().splitlines(), delimiter="\t"))


def test_sources_listed_for_every_file() -> None:
    assert {row[0] for row in SOURCES} == {p.name for p in REAL.glob("*.Kubefile")}
    assert len(SOURCES) >= 100
    assert all(len(row) == 4 and row[1].count("/") == 1 and len(row[2]) >= 12 for row in SOURCES)


@pytest.mark.parametrize("name", [row[0] for row in SOURCES])
def test_real_kubefile_parses(name: str) -> None:
    kf = parse((REAL / name).read_bytes(), name)
    assert kf.base.image
    for arch in ("amd64", "arm64"):   # ${ARCH} resolves per platform
        resolved = parse((REAL / name).read_bytes(), name, arch=arch)
        assert all("${ARCH}" not in s for c in resolved.instructions if isinstance(c, Copy) for s in c.sources)


def _find(word: str) -> list[str]:
    return [row[0] for row in SOURCES if word in (REAL / row[0]).read_text()]


def test_sample_covers_the_rejected_kinds() -> None:
    kinds = {"LABEL": Label, "APP ": App, "LAUNCH": Launch, "CMDS": Cmds}
    for word, cls in kinds.items():
        files = _find(f"\n{word}")
        assert files, word
        assert all(any(isinstance(i, cls) for i in parse((REAL / f).read_bytes()).instructions) for f in files)
    arch = _find("${ARCH}")
    assert len(arch) >= 2
    json_cmd = [f for f in _find('CMD ["') if any(isinstance(i, Cmd) and i.argv for i in parse((REAL / f).read_bytes()).instructions)]
    assert len(json_cmd) >= 3
    for f in json_cmd:   # sealer's meaning: each item is one shell command
        cmds = [c for i in parse((REAL / f).read_bytes()).instructions if isinstance(i, Cmd) for c in i.commands]
        assert all(c.startswith(("kubectl ", "helm ", "bash ", "sh ")) for c in cmds), cmds
