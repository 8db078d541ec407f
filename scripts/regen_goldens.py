#!/usr/bin/env python3
"""Regenerate the cluster golden files (tests/cluster/golden/) from the current implementation.

The test run never writes them: run this after an intended change, then *review* ``git diff tests/cluster/golden``
before committing (a golden produced by the code under test only pins it; the review is the check).
Usage: .venv/bin/python scripts/regen_goldens.py [--check]   (--check: write nothing, exit 1 if any differs)
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from sealer.cluster import TEMPLATE_NAMES, GoTemplateEngine, build_variables, kubeadm_config, load_clusterfile
from sealer.cluster.templates import default_template

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "cluster" / "golden"
ROLES = [("master0", "192.168.0.2"), ("master", "192.168.0.3"), ("node", "192.168.0.5")]
RAW = [("master0", "192.168.0.2"), ("node", "192.168.0.5")]


def outputs() -> dict[Path, str]:
    """Every golden file and the text the implementation produces for it (same inputs as the tests: the
    golden Clusterfile and a rootfs with only Metadata v1.19.8)."""
    out: dict[Path, str] = {}
    out[GOLDEN / "template-sha256.txt"] = "".join(
        f"{hashlib.sha256(default_template(n).text.encode()).hexdigest()}  {n}\n" for n in TEMPLATE_NAMES)
    cluster = load_clusterfile(GOLDEN / "Clusterfile")
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs"
        (rootfs / "etc").mkdir(parents=True)
        (rootfs / "Metadata").write_text(json.dumps({"version": "v1.19.8", "arch": "amd64"}))
        for role, host in ROLES:
            out[GOLDEN / f"{role}.yaml"] = kubeadm_config(cluster, host, rootfs=rootfs).to_yaml()
    with GoTemplateEngine() as engine:
        for who, host in RAW:
            variables = build_variables(cluster, host, image_version="v1.19.8")
            for name in TEMPLATE_NAMES:
                text = engine.render(default_template(name).text, variables.data(), name=name)
                out[GOLDEN / "raw" / who / name.replace(".tmpl", "")] = text
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for path, text in outputs().items():
        old = path.read_text() if path.is_file() else None
        if old == text:
            continue
        changed.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for p in changed:
        print(f"{'differs' if check else 'rewrote'}: {p.relative_to(GOLDEN.parents[2])}")
    if not changed:
        print("goldens up to date")
    elif not check:
        print("review the change: git diff tests/cluster/golden")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
