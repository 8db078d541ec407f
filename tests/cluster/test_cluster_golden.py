"""Golden tests: the spec's default templates rendered for a 3-master / 2-node cluster.

The tests only compare: nothing in the test run writes a golden file. After an intended change, regenerate with
``.venv/bin/python scripts/regen_goldens.py`` (it writes tests/cluster/golden/ and prints what changed) and review
the diff before committing it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from sealer.cluster import TEMPLATE_NAMES, Cluster, GoTemplateEngine, build_variables, kubeadm_config
from sealer.cluster.templates import default_template

GOLDEN = Path(__file__).parent / "golden"


SPEC = Path(__file__).resolve().parents[3] / "shared" / "seed" / "kubefile-build.zh.md"  # ../shared beside the repo


def check_golden(path: Path, actual: str) -> None:
    assert path.is_file(), f"missing golden file {path}; run scripts/regen_goldens.py and review the diff"
    assert actual == path.read_text(), f"output differs from {path} (after an intended change: " \
                                       "scripts/regen_goldens.py, then review the diff)"


def spec_templates() -> dict[str, str]:
    """The six templates as written in the spec: '> ' quote markers and ```yaml fences stripped."""
    lines = SPEC.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("### 默认模版配置文件内容"))
    out: dict[str, str] = {}
    name, body, fenced = "", [], False
    for line in lines[start + 1:]:
        if not line.startswith(">"):
            continue
        text = line[2:] if line.startswith("> ") else line[1:]
        if text.startswith("```"):
            if fenced:
                out[name] = "\n".join(body) + "\n"
                body = []
            fenced = not fenced
        elif fenced:
            body.append(text)
        elif m := re.match(r"(kubeadm-[a-z-]+\.yaml\.tmpl)", text):
            name = m.group(1)
    return out


@pytest.mark.skipif(not SPEC.is_file(), reason="spec not available on this machine")
def test_defaults_are_the_specs_templates_byte_for_byte() -> None:
    spec = spec_templates()
    assert sorted(spec) == sorted(TEMPLATE_NAMES)
    for name in TEMPLATE_NAMES:
        assert default_template(name).text == spec[name], name


def test_default_template_hashes_are_pinned() -> None:
    pinned = GOLDEN / "template-sha256.txt"
    actual = "".join(f"{hashlib.sha256(default_template(n).text.encode()).hexdigest()}  {n}\n"
                     for n in TEMPLATE_NAMES)
    check_golden(pinned, actual)


@pytest.mark.parametrize(("role", "host"), [("master0", "192.168.0.2"), ("master", "192.168.0.3"),
                                            ("node", "192.168.0.5")])
def test_kubeadm_config_matches_golden(cluster: Cluster, rootfs: Path, role: str, host: str) -> None:
    result = kubeadm_config(cluster, host, rootfs=rootfs)
    assert result.role == role
    check_golden(GOLDEN / f"{role}.yaml", result.to_yaml())


@pytest.mark.parametrize(("who", "host"), [("master0", "192.168.0.2"), ("node", "192.168.0.5")])
def test_raw_go_template_output_matches_golden(cluster: Cluster, who: str, host: str) -> None:
    """The Go engine's exact text (whitespace trimming included), before any YAML parsing."""
    variables = build_variables(cluster, host, image_version="v1.19.8")
    with GoTemplateEngine() as engine:
        for name in TEMPLATE_NAMES:
            text = engine.render(default_template(name).text, variables.data(), name=name)
            check_golden(GOLDEN / "raw" / who / name.replace(".tmpl", ""), text)
