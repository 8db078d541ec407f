"""KUBEVERSION constraints (Masterminds/semver syntax) against a cluster version."""

from __future__ import annotations

import pytest

from sealer.apps.kubeversion import KubeVersionError, check, satisfies


@pytest.mark.parametrize(("version", "constraint", "want"), [
    ("v1.22.15", ">=1.20.0", True),
    ("v1.19.8", ">=1.20.0", False),
    ("v1.22.15", ">=1.20.0 <1.25", True),
    ("v1.25.0", ">=1.20.0, <1.25", False),
    ("v1.22.15", "~1.22", True),
    ("v1.23.0", "~1.22.3", False),
    ("v1.22.2", "~1.22.3", False),
    ("v1.30.1", "^1.22", True),
    ("v2.0.0", "^1.22", False),
    ("v1.22.15", "1.22.x", True),
    ("v1.23.0", "1.22.*", False),
    ("v1.22.15", "1.22", True),
    ("v1.24.3", "1.20 - 1.24", True),
    ("v1.25.0", "1.20 - 1.24", False),
    ("v1.19.0", "<1.20 || >=1.26", True),
    ("v1.22.0", "<1.20 || >=1.26", False),
    ("v1.22.15-aliyun.1", ">=1.22.15", True),
    ("1.22.15", "!=1.22.15", False),
    ("v1.22.15", "<=1.22", True),
    ("v1.22.15", ">1.22", False),
    ("v1.23.0", ">1.22", True),
    ("v1.22.15", "", True),
])
def test_satisfies(version: str, constraint: str, want: bool) -> None:
    assert satisfies(version, constraint) is want


def test_check_message_and_bad_input() -> None:
    with pytest.raises(KubeVersionError, match=r"app:v1 supports Kubernetes >=1.24 \(KUBEVERSION\), but the cluster runs v1.22.15"):
        check("v1.22.15", ">=1.24", "app:v1")
    check("v1.24.0", ">=1.24", "app:v1")
    for bad in (">=one", ">="):
        with pytest.raises(KubeVersionError):
            satisfies("v1.22.0", bad)
    with pytest.raises(KubeVersionError):
        satisfies("latest", ">=1.0")
