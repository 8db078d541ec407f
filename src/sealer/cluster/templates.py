"""The six fixed-name kubeadm templates: packaged defaults and image overrides.

A file with one of these names in the image rootfs's ``etc/`` replaces the default
of the same name; nothing else is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sealer.errors import ClusterConfigError

BOOTSTRAP = "kubeadm-bootstrap.yaml.tmpl"
INIT = "kubeadm-init.yaml.tmpl"
CLUSTER = "kubeadm-cluster-config.yaml.tmpl"
KUBEPROXY = "kubeadm-kubeproxy-config.yaml.tmpl"
KUBELET = "kubeadm-kubelet-config.yaml.tmpl"
JOIN = "kubeadm-join-config.yaml.tmpl"
TEMPLATE_NAMES: tuple[str, ...] = (BOOTSTRAP, INIT, CLUSTER, KUBEPROXY, KUBELET, JOIN)


@dataclass(frozen=True)
class Template:
    """One template's text and where it came from."""

    name: str
    text: str
    origin: str  # "default" or the override's path

    @property
    def is_default(self) -> bool:
        return self.origin == "default"

    @property
    def label(self) -> str:
        return f"{self.name} (default)" if self.is_default else f"{self.name} (image: {self.origin})"


def default_template(name: str) -> Template:
    if name not in TEMPLATE_NAMES:
        raise KeyError(name)
    text = resources.files("sealer.cluster").joinpath("templates", name).read_text(encoding="utf-8")
    return Template(name, text, "default")


def load_templates(etc_dir: Path | None) -> dict[str, Template]:
    """All six templates: ``etc_dir/NAME`` when present, the packaged default otherwise."""
    out: dict[str, Template] = {}
    for name in TEMPLATE_NAMES:
        path = etc_dir / name if etc_dir is not None else None
        if path is not None and path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise ClusterConfigError(f"read template: {e}", str(path)) from None
            out[name] = Template(name, text, f"etc/{name}")
        else:
            out[name] = default_template(name)
    return out
