"""Per-rootfs discovery settings: ``manifests/.sealer-discover.yaml``.

A Kubefile context turns on extended discovery for its lite build by shipping this file
(``COPY .sealer-discover.yaml manifests/``)::

    deep: true            # also report images in args/env/ConfigMaps/custom resources
    helmTests: false      # cache images of helm.sh/hook: test pods too
    kubeVersion: v1.33.0  # .Capabilities.KubeVersion for chart rendering when the build does not know it
    strict: true          # a library chart or a chart rendering no workload fails the build

Settings only switch features *on*: ``discover(deep=True)`` (``sealer build --deep``) wins over
``deep: false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sealer.discover.files import Warn, existing_file
from sealer.errors import DiscoveryError

SETTINGS_FILE = "manifests/.sealer-discover.yaml"
_KEYS = {"deep": bool, "helmTests": bool, "kubeVersion": str, "strict": bool}


@dataclass(frozen=True)
class Settings:
    deep: bool = False
    helm_tests: bool = False
    kube_version: str | None = None
    strict: bool = False


def read_settings(root: Path, warn: Warn) -> Settings:
    path = existing_file(root, SETTINGS_FILE, warn)
    if path is None:
        return Settings()
    from sealer.discover.safeyaml import load_plain  # PyYAML only when there is a settings file

    with open(path, "rb") as fh:
        data = load_plain(fh, SETTINGS_FILE)
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise DiscoveryError("read discovery settings: expected a mapping", SETTINGS_FILE, 1)
    for key, value in data.items():
        if key not in _KEYS:
            raise DiscoveryError(f"read discovery settings: unknown key {key!r} (known: {', '.join(_KEYS)})",
                                 SETTINGS_FILE)
        if not isinstance(value, _KEYS[key]):
            raise DiscoveryError(f"read discovery settings: {key} must be a {_KEYS[key].__name__}",
                                 SETTINGS_FILE)
    kv = data.get("kubeVersion")
    return Settings(deep=bool(data.get("deep", False)), helm_tests=bool(data.get("helmTests", False)),
                    kube_version=kv if isinstance(kv, str) else None, strict=bool(data.get("strict", False)))
