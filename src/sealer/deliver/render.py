"""Render every ``*.tmpl`` of the rootfs for one host (Go text/template, as sealer's env processor does).

The output goes next to the template without ``.tmpl``. The six kubeadm templates in ``etc/`` are left to
the kubeadm phase (they need the join token); ``registry/`` holds no templates.
"""

from __future__ import annotations

from pathlib import Path

from sealer.cluster.gotemplate import GoTemplateEngine
from sealer.cluster.templates import TEMPLATE_NAMES
from sealer.cluster.variables import build_variables
from sealer.deliver.plan import Plan

SKIP_DIRS = ("registry",)


def templates(rootfs: Path) -> list[str]:
    out: list[str] = []
    for p in sorted(rootfs.rglob("*.tmpl")):
        rel = p.relative_to(rootfs)
        if rel.parts[0] in SKIP_DIRS or not p.is_file() or p.is_symlink():
            continue
        if len(rel.parts) == 2 and rel.parts[0] == "etc" and rel.name in TEMPLATE_NAMES:
            continue
        out.append(rel.as_posix())
    return out


def template_data(plan: Plan, host: str) -> dict[str, str | list[str]]:
    """sealer's variables for ``host``: the kubeadm ones (Master0, VIP, PodCIDR, SvcCIDR, ...), HostIP, the
    registry's, the host lists, then ``spec.env`` and the host's env (which win)."""
    c = plan.cluster
    data: dict[str, str | list[str]] = dict(build_variables(c, host, image_version=plan.version).values)
    data.update({
        "HostIP": host,
        "RegistryDomain": c.registry_domain,
        "RegistryPort": str(c.registry_port) if c.registry_port else "",
        "RegistryURL": c.registry,
        "Masters": ",".join(c.masters),
        "Nodes": ",".join(c.nodes),
        "ClusterName": c.name,
    })
    reg_ip = c.registry_ip_for(host)
    if reg_ip is not None:  # none with an external registry: a template using it says so
        data["RegistryIP"] = reg_ip
    data.update(c.host_env(host))
    return data


def render_all(engine: GoTemplateEngine, plan: Plan, host: str) -> dict[str, tuple[bytes, int]]:
    """``{output path relative to rootfs: (content, mode)}`` for ``host``."""
    data = template_data(plan, host)
    out: dict[str, tuple[bytes, int]] = {}
    for rel in templates(plan.rootfs):
        src = plan.rootfs / rel
        text = engine.render(src.read_text(encoding="utf-8"), data, name=rel)
        out[rel[: -len(".tmpl")]] = (text.encode(), src.stat().st_mode & 0o777)
    return out
