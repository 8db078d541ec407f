"""What the build stages hand each other: a layer made (with the instruction that made it) and the reporter
that shows the steps."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from sealer.digest import Digest
from sealer.oci.model import Descriptor


@dataclass
class LayerRecord:
    descriptor: Descriptor
    diff_id: Digest
    created_by: str
    annotations: dict[str, str] = field(default_factory=dict)



class Reporter:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def say(self, msg: str) -> None:
        if not self.quiet:
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()

    def warn(self, msg: str) -> None:
        """Warnings are shown even with --quiet."""
        sys.stderr.write("WARNING: " + msg + "\n")
        sys.stderr.flush()
