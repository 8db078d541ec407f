"""Split a YAML stream into documents the way Kubernetes and Helm do, before any YAML parsing.

PyYAML's stream grammar is stricter than the tools that apply manifests: ``---# comment`` or
``---apiVersion: v1`` is an error to it, while ``kubectl apply`` and ``helm install`` accept them.
So documents are cut first with the consumer's own rule, then each is parsed on its own
(:func:`sealer.discover.safeyaml.parse_document`), keeping the line where it starts for messages.

- :func:`kubernetes_documents` — files under ``manifests/`` (what ``kubectl apply -f`` reads):
  apimachinery's ``YAMLReader.Read`` (``k8s.io/apimachinery/pkg/util/yaml/decoder.go``). The
  stream is read line by line (``\\r\\n`` counts as ``\\n``); a line that *starts* with ``---``
  ends the current document and is not part of any document; the rest of that line, trimmed,
  must be empty or a ``#`` comment, else the stream is refused with ``invalid Yaml document
  separator: REST``. Documents with no bytes at all (two separators in a row) are skipped.
- :func:`helm_documents` — a rendered chart template (what ``helm install`` applies): Helm's
  ``releaseutil.SplitManifests``, the regular expression ``(?:^|\\s*\\n)---\\s*`` on the
  template's text (trimmed), each piece trimmed, whitespace-only pieces dropped. ``---`` need
  not stand alone: ``---# comment`` and ``---apiVersion: v1`` split too.

Document numbers count the documents the consumer sees (1, 2, ...), not PyYAML's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from sealer.errors import DiscoveryError


@dataclass(frozen=True)
class Piece:
    """One document's text, its number (from 1) and the line of the stream where the text starts."""

    number: int
    line: int
    text: bytes | str


def kubernetes_documents(stream: IO[bytes], origin: str) -> Iterator[Piece]:
    """apimachinery's YAML reader: one document in memory at a time."""
    lines: list[bytes] = []
    start = 1      # line number of lines[0]
    number = 0
    lineno = 0
    for raw in stream:
        lineno += 1
        if raw.startswith(b"---"):
            rest = raw[3:].decode("utf-8", "replace").strip()
            if rest and not rest.startswith("#"):
                raise DiscoveryError(f"invalid Yaml document separator: {rest[:80]} (kubectl refuses it too)",
                                     origin, lineno)
            if lines:
                number += 1
                yield Piece(number, start, b"".join(lines))
                lines = []
            start = lineno + 1
            continue
        if not lines:
            start = lineno
        lines.append(raw)
    if lines:
        number += 1
        yield Piece(number, start, b"".join(lines))


_HELM_SEP = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")  # Go RE2's \s is ASCII whitespace


def helm_documents(text: str) -> Iterator[Piece]:
    """Helm's ``SplitManifests`` (Helm 3, and the engine of Helm 4.2 alike): split, trim, drop empty pieces."""
    lead = len(text) - len(text.lstrip())
    body = text.strip()
    line = 1 + text.count("\n", 0, lead)  # line of body[counted]
    counted = 0
    number = 0
    pos = 0
    bounds: list[tuple[int, int]] = []
    for m in _HELM_SEP.finditer(body):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(body)))
    for start, stop in bounds:
        piece = body[start:stop]
        stripped = piece.strip()
        if not stripped:
            continue
        first = start + len(piece) - len(piece.lstrip())
        line += body.count("\n", counted, first)
        counted = first
        number += 1
        yield Piece(number, line, stripped)
