"""Providers: where the nodes of a cluster build come from (Aliyun ECS, docker containers, existing hosts).

Owns creating and destroying machines and the ledger of what was created; must not import deliver/ or build/.
"""

from __future__ import annotations

from sealer.infra.providers.base import NodeSpec, Provider, ProviderError, ProvisionedCluster, ProvisionedNode

__all__ = ["NodeSpec", "Provider", "ProviderError", "ProvisionedCluster", "ProvisionedNode"]
