"""What the build stages hand each other: a layer made, with the instruction that made it (the reporter of the
steps is :class:`sealer.progress.BuildReporter`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sealer.digest import Digest
from sealer.oci.labels import ImageRecord
from sealer.oci.model import Descriptor


@dataclass
class LayerRecord:
    descriptor: Descriptor
    diff_id: Digest
    created_by: str
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildResult:
    digest: Digest                  # of the manifest (one platform) or index
    tags: list[str]
    layers: list[LayerRecord]
    cached_steps: int
    total_steps: int
    images: list[ImageRecord]
    seconds: float
