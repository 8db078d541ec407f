"""Accuracy over the shared corpus (real upstream manifests and charts; see its README.md).

Both sides are docker-normalised. A found image is a false positive only when it is in none of
STRICT, EXTRA, HELM_TESTS. Default mode: precision and recall of STRICT >= 0.99. Deep mode: recall
of STRICT ∪ EXTRA >= 0.95 at precision >= 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from sealer.discover import discover
from sealer.reference import normalize, parse

from ._util import CORPUS

KUBE_VERSION = "v1.33.0"  # what the corpus lists were checked with (helm template --kube-version 1.33.0)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


def _cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if (p / "EXPECTED_IMAGES.txt").is_file()) if CORPUS.is_dir() else []


def _read(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {normalize(line.strip()) for line in path.read_text().splitlines() if line.strip()}


@dataclass(frozen=True)
class Case:
    strict: frozenset[str]
    extra: frozenset[str]
    tests: frozenset[str]
    found: frozenset[str]
    found_deep: frozenset[str]


@cache
def run_case(name: str) -> Case:
    d = CORPUS / name
    default = discover(d, kube_version=KUBE_VERSION)
    deep = discover(d, deep=True, kube_version=KUBE_VERSION)
    for result in (default, deep):
        for f in result.images:
            assert str(parse(f.raw)) == str(f.reference), f.raw  # every reported string parses
            assert f.sources, f
    return Case(frozenset(_read(d / "EXPECTED_IMAGES.txt")), frozenset(_read(d / "EXPECTED_EXTRA.txt")),
                frozenset(_read(d / "EXPECTED_HELM_TESTS.txt")),
                frozenset(str(r) for r in default.references()), frozenset(str(r) for r in deep.references()))


@pytest.mark.parametrize("name", _cases())
def test_case(name: str) -> None:
    c = run_case(name)
    allowed = c.strict | c.extra | c.tests
    assert c.strict <= c.found, f"missed: {sorted(c.strict - c.found)}"
    assert c.found <= allowed, f"invented: {sorted(c.found - allowed)}"
    assert not (c.found - c.strict), "default mode reports only strict images here"
    assert (c.strict | c.extra) <= c.found_deep, f"deep missed: {sorted((c.strict | c.extra) - c.found_deep)}"
    assert c.found_deep <= allowed, f"deep invented: {sorted(c.found_deep - allowed)}"


def _score(found: set[str], wanted: set[str], allowed: set[str]) -> tuple[float, float]:
    precision = 1.0 if not found else len(found & allowed) / len(found)
    recall = 1.0 if not wanted else len(found & wanted) / len(wanted)
    return precision, recall


def test_aggregate_precision_recall(capsys: pytest.CaptureFixture[str]) -> None:
    names = _cases()
    assert names, "no corpus cases"
    tp = fp = fn = tp_d = fp_d = fn_d = 0
    for name in names:
        c = run_case(name)
        allowed = c.strict | c.extra | c.tests
        tp += len(c.found & c.strict)
        fn += len(c.strict - c.found)
        fp += len(c.found - allowed)
        wanted = c.strict | c.extra
        tp_d += len(c.found_deep & wanted)
        fn_d += len(wanted - c.found_deep)
        fp_d += len(c.found_deep - allowed)
    found_d = tp_d + fp_d  # deep found images that are allowed but not wanted (tests) count as neither
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    p_d = tp_d / found_d if found_d else 1.0
    r_d = tp_d / (tp_d + fn_d) if tp_d + fn_d else 1.0
    with capsys.disabled():
        print(f"\ncorpus {CORPUS} ({len(names)} cases)")
        print(f"default: precision {p:.3f} recall {r:.3f}  (tp {tp} fp {fp} fn {fn})")
        print(f"deep:    precision {p_d:.3f} recall {r_d:.3f}  (tp {tp_d} fp {fp_d} fn {fn_d})")
    assert p >= 0.99 and r >= 0.99
    assert p_d >= 0.95 and r_d >= 0.95
