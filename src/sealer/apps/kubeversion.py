"""Does a cluster's Kubernetes version satisfy an image's ``KUBEVERSION`` (label
``app.alpha.sealer.io/supported-kube-version``)? Pure; for delivery to call before launching apps.

Constraint syntax as Masterminds/semver (what Helm's ``kubeVersion`` uses too): comparisons ``=``, ``!=``,
``>``, ``>=``, ``<``, ``<=``; ``~1.22`` (>=1.22.0 <1.23.0), ``^1.22`` (>=1.22.0 <2.0.0); wildcards
``1.22.x``/``1.22.*``/``1.22``; hyphen ranges ``1.20 - 1.24``; blanks or commas join (AND), ``||`` alternatives
(OR). Pre-release and build suffixes of the cluster version (``v1.22.15-aliyun.1``) are ignored.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+].*)?$")
_TERM = re.compile(r"^(!=|>=|<=|=>|=<|=|>|<|~>|~|\^)?\s*(\S+)$")

Version = tuple[int, int, int]


class KubeVersionError(ValueError):
    """The constraint or the version cannot be read."""


def _parse(text: str) -> tuple[Version, int]:
    """``(version, number of given parts)``; wildcard parts count as not given."""
    m = _VERSION.match(text.strip())
    if not m:
        raise KubeVersionError(f"not a version: {text!r}")
    parts = [p for p in m.groups() if p is not None and p not in ("x", "X", "*")]
    given = len(parts)
    nums = [int(p) for p in parts] + [0] * (3 - given)
    return (nums[0], nums[1], nums[2]), given


def _bump(v: Version, given: int) -> Version:
    """The first version above the wildcard range of ``v`` with ``given`` parts (1.22 -> 1.23.0)."""
    if given <= 1:
        return (v[0] + 1, 0, 0)
    if given == 2:
        return (v[0], v[1] + 1, 0)
    return (v[0], v[1], v[2] + 1)


def _term(op: str, text: str, have: Version) -> bool:
    v, given = _parse(text)
    if op in ("", "="):
        return v <= have < _bump(v, given) if given < 3 else have == v
    if op == "!=":
        return not (v <= have < _bump(v, given)) if given < 3 else have != v
    if op == ">":
        return have >= _bump(v, given) if given < 3 else have > v
    if op in (">=", "=>"):
        return have >= v
    if op == "<":
        return have < v
    if op in ("<=", "=<"):
        return have < _bump(v, given) if given < 3 else have <= v
    if op in ("~", "~>"):
        return v <= have < _bump(v, max(given, 2))
    if op == "^":
        upper = (v[0] + 1, 0, 0) if v[0] > 0 else ((0, v[1] + 1, 0) if given >= 2 else (1, 0, 0))
        return v <= have < upper
    raise KubeVersionError(f"unknown operator {op!r}")


def satisfies(version: str, constraint: str) -> bool:
    """Whether Kubernetes ``version`` (``v1.22.15``) meets ``constraint`` (``>=1.20.0 <1.25``)."""
    have, _ = _parse(version)
    text = constraint.strip()
    if not text:
        return True
    for alternative in text.split("||"):
        alt = re.sub(r"\s+-\s+", " - ", alternative.strip())
        ok = True
        hyphen = re.fullmatch(r"(\S+) - (\S+)", alt)
        if hyphen:
            low, _g = _parse(hyphen.group(1))
            high, given = _parse(hyphen.group(2))
            ok = low <= have and (have < _bump(high, given) if given < 3 else have <= high)
        else:
            tokens = re.findall(r"(?:!=|>=|<=|=>|=<|~>|[=<>~^])?\s*[^\s,<>=!~^]+", alt.replace(",", " "))
            if not tokens:
                raise KubeVersionError(f"empty constraint in {constraint!r}")
            for tok in tokens:
                m = _TERM.match(tok.strip())
                if not m:
                    raise KubeVersionError(f"cannot read {tok!r} in {constraint!r}")
                if not _term(m.group(1) or "", m.group(2), have):
                    ok = False
                    break
        if ok:
            return True
    return False


def check(version: str, constraint: str, image: str = "the image") -> None:
    """Raise :class:`KubeVersionError` with a clear message when ``version`` is outside ``constraint``."""
    if not satisfies(version, constraint):
        raise KubeVersionError(f"{image} supports Kubernetes {constraint} (KUBEVERSION), but the cluster runs "
                               f"{version}")
