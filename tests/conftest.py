"""Shared test configuration. Real-registry fixtures live in tests/helpers/registry.py."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from helpers.cli import Sealer  # noqa: E402
from helpers.registry import proxy_registry, registry, tls_registry, token_registry  # noqa: E402, F401

# ---- no silent skips under CI ------------------------------------------------------------------------------
# With CI=true, what the suite needs from the machine must be there: a missing ../shared (spec, corpus) or a
# missing Debian tool stops the run with its reason, and any test that would skip fails instead.
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_NEEDS = ("seed/kubefile-build.zh.md", "corpus")
TOOLS = ("docker-registry", "skopeo", "umoci", "htpasswd", "openssl", "sshd", "busybox")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing_requirements() -> list[str]:
    out = [f"../shared/{n} not found (looked for {SHARED / n}; ../shared must sit beside the repository)"
           for n in SHARED_NEEDS if not (SHARED / n).exists()]
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    out += [f"tool {t!r} not on PATH (install the Debian packages: make deps)" for t in TOOLS
            if shutil.which(t, path=path) is None]
    return out


def pytest_sessionstart(session: pytest.Session) -> None:
    if under_ci() and (missing := missing_requirements()):
        pytest.exit("CI=true and the test environment is incomplete:\n  - " + "\n  - ".join(missing), returncode=3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if under_ci() and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI=true, which allows no skips: {reason}"


# ---- random seeds: printed, replayable ------------------------------------------------------------------------
SEED_ENV = "SEALER_TEST_SEED"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seed", type=int, default=None,
                     help=f"seed of the randomised tests (default: ${SEED_ENV}, else a fresh one, printed)")


def pytest_configure(config: pytest.Config) -> None:
    # chosen once by the controller and handed to xdist workers through the environment
    seed = config.getoption("--seed")
    if seed is None:
        seed = int(os.environ.get(SEED_ENV) or int.from_bytes(os.urandom(2), "big"))
    os.environ[SEED_ENV] = str(seed)


def pytest_report_header(config: pytest.Config) -> str:
    return f"random seed {os.environ[SEED_ENV]} (replay: --seed {os.environ[SEED_ENV]})"


@pytest.fixture
def test_seed(record_property: object) -> int:
    """The run's seed; a failing randomised test names it so the run can be replayed with ``--seed``."""
    seed = int(os.environ[SEED_ENV])
    print(f"random seed {seed} (replay: pytest --seed {seed})")
    return seed


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def sealer(store_root: Path) -> Sealer:
    """The real CLI against this test's store (``sealer("images")``, ``sealer.json(...)``, ``sealer.proc(...)``)."""
    return Sealer(store_root)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's docker config, registries.conf or store."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("SEALER_ROOT", raising=False)
    if "SEALER_REGISTRIES_CONF" not in os.environ:
        conf = home / "registries.conf"   # empty: no mirrors, and never the machine's /etc/containers one
        conf.touch()
        monkeypatch.setenv("SEALER_REGISTRIES_CONF", str(conf))
