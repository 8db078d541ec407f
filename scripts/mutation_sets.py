#!/usr/bin/env python3
"""Named mutation sets for ``make mutation MUTATION_SET=<name>``: which modules mutmut mutates and which tests
it runs against them (one package at a time keeps a run within reach of 2 shared cores).

mutmut 3 reads its configuration only from ``pyproject.toml`` in the current directory, so a set is run in
``.mutation/<name>/``: a copy of ``pyproject.toml`` whose ``[tool.mutmut]`` names the set's source paths and test
selection, plus symlinks to ``src/`` and ``tests/``. Each set keeps its own ``mutants/`` (results survive for
``mutmut results``/``show`` there). Without a set, ``make mutation`` runs ``[tool.mutmut]`` of ``pyproject.toml``
as before.

Usage: ``python scripts/mutation_sets.py SET [MUTANT_GLOB ...]`` (globs such as ``'sealer.store.fsck*'`` restrict
the run to some functions, keeping the set's earlier results for the others: after adding tests, re-run the
survivors only), ``--list`` names the sets. ``MUTATION_JOBS``
(default 1) is ``--max-children``; mutmut runs under ``nice -n 15``. ``MUTATION_TESTS="a.py b/"`` replaces the
set's test selection (e.g. to measure a "before" score; run in ``.mutation/<name>-custom/``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# set name -> (source paths to mutate, pytest test selection). Keep the selections fast and in-process: mutmut maps
# tests to functions by what runs inside the pytest process, so CLI subprocesses neither map nor kill.
SETS: dict[str, tuple[list[str], list[str]]] = {
    "core": (["src/sealer/digest.py", "src/sealer/reference.py", "src/sealer/build/cache.py"],
             ["tests/core", "tests/build/test_cache_keys.py", "tests/registry/test_units.py",
              "tests/build/test_build.py"]),
    "store": (["src/sealer/store/layout.py", "src/sealer/store/archive.py", "src/sealer/store/fsck.py",
               "src/sealer/store/export.py"],
              ["tests/store"]),
    "tario": (["src/sealer/tario/extract.py", "src/sealer/tario/write.py", "src/sealer/build/rootfs.py"],
              ["tests/tario"]),
    "context": (["src/sealer/build/context.py", "src/sealer/build/ignore.py", "src/sealer/build/statcache.py"],
                ["tests/build/test_context_plan.py", "tests/build/test_statcache_units.py"]),
    "podspec": (["src/sealer/discover/podspec.py"],
                ["tests/discover/test_manifests.py", "tests/discover/test_podspec.py"]),
    "verify": (["src/sealer/imagecache/verify.py"],
               ["tests/imagecache/test_cache_verify.py", "tests/imagecache/test_cache_verify_missing.py",
                "tests/imagecache/test_verify_checks.py"]),
    "regauth": (["src/sealer/registry/auth.py"],
                ["tests/registry/test_units.py", "tests/registry/test_client_mock.py", "tests/registry/test_auth.py",
                 "tests/registry/test_auth_flow.py", "tests/registry/test_auth_challenges.py"]),
    "redirects": (["src/sealer/registry/blobget.py", "src/sealer/registry/mirrors.py"],
                  ["tests/registry/test_units.py", "tests/registry/test_client_mock.py",
                   "tests/registry/test_mirrors.py", "tests/registry/test_faults.py", "tests/registry/test_redirects.py",
                   "tests/registry/test_mirror_conf.py"]),
    # run with the globs 'sealer.registry.blobget.x_download*' 'sealer.registry.blobget.x__one_pass*' (README)
    "blobresume": (["src/sealer/registry/blobget.py"],
                   ["tests/registry/test_blob_resume.py", "tests/registry/test_faults.py",
                    "tests/registry/test_rawget.py"]),
}


def _toml_list(items: list[str]) -> str:
    return json.dumps(items)  # a JSON array of plain strings is a TOML array


def prepare(name: str, tests: list[str] | None = None) -> Path:
    sources, selection = SETS[name]
    if tests:
        selection = tests
    work = ROOT / ".mutation" / (name + ("-custom" if tests else ""))
    work.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "pyproject.toml").read_text()
    section = (f"[tool.mutmut]\nsource_paths = {_toml_list(sources)}\nalso_copy = [\"src/\", \"tests/\"]\n"
               f"pytest_add_cli_args = [\"-p\", \"no:cacheprovider\"]\n"
               f"pytest_add_cli_args_test_selection = {_toml_list(selection)}\n")
    new, n = re.subn(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", section + "\n", text, flags=re.M)
    (work / "pyproject.toml").write_text(new if n else text + "\n" + section)
    for d in ("src", "tests"):
        link = work / d
        if not link.is_symlink():
            link.symlink_to(ROOT / d)
    return work


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "--list"):
        print("sets: " + ", ".join(SETS))
        return 0 if argv else 2
    name, globs = argv[0], argv[1:]
    if name not in SETS:
        print(f"unknown mutation set {name!r}; sets: {', '.join(SETS)}", file=sys.stderr)
        return 2
    work = prepare(name, os.environ.get("MUTATION_TESTS", "").split())
    if not globs:       # a full run starts afresh; with globs, only those mutants are run again (tests refreshed)
        shutil.rmtree(work / "mutants", ignore_errors=True)
    mutmut = str(Path(sys.executable).parent / "mutmut")
    jobs = os.environ.get("MUTATION_JOBS", "1")
    subprocess.run(["nice", "-n", "15", mutmut, "run", "--max-children", jobs, *globs], cwd=work,
                   stdout=subprocess.DEVNULL, check=False)
    res = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True,
                         check=False)
    score = subprocess.run([sys.executable, str(ROOT / "scripts" / "mutation_score.py")], input=res.stdout,
                           text=True, check=False)
    return score.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
