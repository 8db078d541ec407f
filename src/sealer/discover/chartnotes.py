"""Charts that render nothing useful: say so instead of returning ``[]`` silently.

- a **library chart** (``type: library`` in ``Chart.yaml``, e.g. Bitnami ``common`` copied into ``charts/``
  by mistake) is skipped: Helm refuses to install it ("library charts are not installable");
- a chart that renders **no workload** (no pod spec with an image) with the values given caches no image;
  charts such as Bitnami kibana or gitlab-runner then explain the missing setting only in their
  ``NOTES.txt`` (``### ERROR ###``, ``ERROR: ...``), so the lines from that banner on are quoted.

These are warnings; ``strict`` (``--strict``, ``strict: true`` in the discovery settings) makes them errors.
"""

from __future__ import annotations

import re

from sealer.discover.files import Warn
from sealer.errors import DiscoveryError

BANNER = re.compile(r"(?:^|[^A-Za-z])ERROR(?:[^A-Za-z]|$)")
QUOTED_LINES = 6
MAX_LINE = 200


def library_message(chart_rel: str, name: str) -> str:
    return (f"skip {chart_rel}: chart {name or chart_rel} is a library chart (type: library); Helm does not install "
            "library charts, they only provide templates to the charts that depend on them")


def banner_lines(notes: str) -> list[str]:
    """The lines of a rendered NOTES.txt from its first error banner on (at most ``QUOTED_LINES``), else []."""
    lines = notes.splitlines()
    for i, line in enumerate(lines):
        if BANNER.search(line):
            picked = [x.rstrip()[:MAX_LINE] for x in lines[i:] if x.strip()]
            return picked[:QUOTED_LINES]
    return []


def no_workload_message(chart_rel: str, how: str, notes: str | None) -> str:
    message = (f"{chart_rel} {how}: renders no workload (no pod spec with an image), so its templates give no "
               "image to cache; check its values")
    quoted = banner_lines(notes or "")
    if quoted:
        message += "; its NOTES.txt says:\n" + "\n".join("    " + line for line in quoted)
    return message


def complain(message: str, chart_rel: str, *, strict: bool, warn: Warn) -> None:
    """Warn, or raise when ``strict``."""
    if strict:
        raise DiscoveryError(message + " (--strict)", chart_rel)
    warn(message)
