"""Build options, as given on the command line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealer.kubefile import Run
from sealer.oci.model import Platform

BACKENDS = ("cloud", "container", "lite")


@dataclass
class ClusterHooks:
    """How a cluster build takes part in the executor (sealer.build.cluster): RUN on master0, and before the
    image-caching stage the CMDs run on the cluster and return ``(reference, source)`` of what it pulled."""

    run_step: Callable[[Run, Path], None]
    before_cache: Callable[[Path, Sequence[str]], list[tuple[str, str]]]


@dataclass
class BuildOptions:
    context: Path
    tags: list[str]
    kubefile: Path | None = None          # default: CONTEXT/Kubefile
    backend: str = "cloud"
    no_cache: bool = False
    platforms: list[Platform] = field(default_factory=list)   # default: the host platform
    deep: bool = False
    strict: bool = False  # discovery warnings about charts (library chart, no workload) fail the build
    ignore_images: list[str] = field(default_factory=list)
    max_parallel: int = 8
    quiet: bool = False
    # sealer.registry.RegistryOptions, when given, or a function making them, called on first use (the CLI's: a
    # build that reaches no registry, such as a no-op rebuild, never imports the registry package); read registry()
    registry_options: Any = None
    source_date_epoch: int | None = None  # fixed 'created' for reproducible output
    build_args: dict[str, str] = field(default_factory=dict)   # --build-arg K=V (overrides ARG defaults)
    image_list: Path | None = None        # --image-list FILE: more images to cache
    ignored_image_list: Path | None = None  # --ignored-image-list FILE: images not to cache
    cluster_hooks: ClusterHooks | None = None  # set by a cluster build (container / cloud / existing hosts)

    def registry(self) -> Any:
        """The registry options (``sealer.registry.RegistryOptions``, or None for the defaults)."""
        if callable(self.registry_options):
            self.registry_options = self.registry_options()
        return self.registry_options

    @property
    def kubefile_path(self) -> Path:
        return self.kubefile if self.kubefile is not None else self.context / "Kubefile"
