"""The provider protocol: ``create(spec) -> nodes`` and ``destroy()``, both idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from sealer.errors import SealerError


class ProviderError(SealerError):
    """A provider could not create or destroy what was asked; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


@dataclass(frozen=True)
class NodeSpec:
    """How many machines a cluster build needs."""

    masters: int = 1
    nodes: int = 0

    def __post_init__(self) -> None:
        if self.masters < 1 or self.nodes < 0:
            raise ProviderError(f"a cluster needs at least one master (asked for {self.masters} masters, "
                                f"{self.nodes} nodes)")

    @property
    def total(self) -> int:
        return self.masters + self.nodes


@dataclass(frozen=True)
class ProvisionedNode:
    address: str
    role: Literal["master", "node"]
    resource_id: str


@dataclass(frozen=True)
class ProvisionedCluster:
    """Machines ready for SSH: the delivery code reaches them like any host."""

    nodes: tuple[ProvisionedNode, ...]
    user: str = "root"
    private_key: Path | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def masters(self) -> list[str]:
        return [n.address for n in self.nodes if n.role == "master"]

    @property
    def workers(self) -> list[str]:
        return [n.address for n in self.nodes if n.role == "node"]


class Provider(Protocol):
    """Creates machines for one build and removes every one of them again."""

    build_id: str

    def create(self, spec: NodeSpec) -> ProvisionedCluster:
        """Create (or find, when called again) the machines; wait until they accept SSH connections."""
        ...

    def destroy(self) -> list[str]:
        """Delete everything this build created; safe to call twice. Returns what was deleted."""
        ...
