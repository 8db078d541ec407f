"""Cluster configuration: Clusterfile, kubeadm templates (Go text/template via Helm), registry proxy config."""

from __future__ import annotations

from sealer.cluster.clusterfile import (
    Cluster,
    HostGroup,
    KubeadmDocument,
    load_clusterfile,
    parse_clusterfile,
)
from sealer.cluster.gotemplate import GoTemplateEngine, render
from sealer.cluster.kubeadm import ConfigDocument, HostKubeadmConfig, kubeadm_config
from sealer.cluster.registry_config import (
    RegistryConfig,
    Upstream,
    load_registry_config,
    parse_registry_config,
)
from sealer.cluster.registry_proxy import (
    proxy_endpoints,
    render_containerd_hosts,
    render_distribution_configs,
)
from sealer.cluster.rootfs import ImageMetadata, read_metadata
from sealer.cluster.templates import TEMPLATE_NAMES, Template, load_templates
from sealer.cluster.variables import TemplateVariables, build_variables, generate_bootstrap_token

__all__ = [
    "TEMPLATE_NAMES", "Cluster", "ConfigDocument", "GoTemplateEngine", "HostGroup", "HostKubeadmConfig",
    "ImageMetadata", "KubeadmDocument", "RegistryConfig", "Template", "TemplateVariables", "Upstream",
    "build_variables", "generate_bootstrap_token", "kubeadm_config", "load_clusterfile", "load_registry_config",
    "load_templates", "parse_clusterfile", "parse_registry_config", "proxy_endpoints", "read_metadata", "render",
    "render_containerd_hosts", "render_distribution_configs",
]
