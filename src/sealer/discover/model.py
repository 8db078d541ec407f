"""Value types of image discovery: where an image was seen, the merged images, the result."""

from __future__ import annotations

from dataclasses import dataclass, field

from sealer.errors import DiscoveryError
from sealer.reference import Reference

CHART_TIMEOUT = 120.0  # seconds one chart may take to render by default


@dataclass(frozen=True)
class ImageSource:
    """One place an image reference was found.

    ``str()`` is what users see::

        manifests/app.yaml#2 Deployment/web container nginx     (document 2 of the file)
        charts/redis (values default) redis/templates/master.yaml#1 StatefulSet/redis container redis
        manifests/imageList:7
    """

    file: str
    line: int | None
    detail: str
    document: int | None = None

    def __str__(self) -> str:
        head = self.file
        if self.document is not None:
            head += f"#{self.document}"
        elif self.line is not None and not self.detail:
            head += f":{self.line}"
        return f"{head} {self.detail}".strip()

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "document": self.document,
                "detail": self.detail, "text": str(self)}


@dataclass
class FoundImage:
    """An image with every place it was found. ``extended`` is True only when deep mode alone found it."""

    reference: Reference
    raw: str
    sources: list[ImageSource]
    extended: bool

    def to_json(self) -> dict[str, object]:
        return {"image": str(self.reference), "raw": self.raw, "extended": self.extended,
                "sources": [s.to_json() for s in self.sources]}


@dataclass
class DiscoveryResult:
    """What :func:`sealer.discover.discover` found.

    ``images`` are to be cached (sorted by ``str(reference)``); ``ignored`` matched the ignore list;
    ``helm_tests`` are images of ``helm.sh/hook: test`` pods, which only ``helm test`` pulls (not cached
    unless asked); ``warnings`` explain what was skipped (unrendered templates, symlinks leaving the root...);
    ``unresolved`` are deep candidates whose manifest did not resolve (:mod:`sealer.discover.resolve`).
    """

    images: list[FoundImage]
    ignored: list[FoundImage] = field(default_factory=list)
    helm_tests: list[FoundImage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unresolved: list[FoundImage] = field(default_factory=list)

    def references(self) -> list[Reference]:
        return [f.reference for f in self.images]

    def to_json(self) -> dict[str, object]:
        return {
            "images": [f.to_json() for f in self.images],
            "ignored": [f.to_json() for f in self.ignored],
            "helm_tests": [f.to_json() for f in self.helm_tests],
            "warnings": list(self.warnings),
            "unresolved": [f.to_json() for f in self.unresolved],
        }


class DiscoveryErrors(DiscoveryError):
    """Several manifests, charts or lists failed in one run; ``errors`` holds each one (file, line, message)."""

    def __init__(self, errors: list[DiscoveryError]) -> None:
        self.errors = list(errors)
        lines = "\n".join("  " + str(e).replace("\n", "\n    ") for e in self.errors)
        super().__init__(f"{len(self.errors)} problems found:\n{lines}")
