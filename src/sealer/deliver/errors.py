"""Delivery errors: which host, which phase, and the tail of what the command said."""

from __future__ import annotations

from sealer.errors import SealerError


class DeliveryError(SealerError):
    """A phase failed on a host (or the delivery cannot start)."""

    def __init__(self, message: str, *, host: str | None = None, phase: str | None = None,
                 tail: str = "") -> None:
        self.host = host
        self.phase = phase
        self.tail = tail
        where = ""
        if host is not None:
            where = f"{host}: " if phase is None else f"{host}: phase {phase}: "
        text = f"{where}{message}"
        if tail.strip():
            text += "\n" + "\n".join("  | " + line for line in tail.rstrip().splitlines())
        super().__init__(text)
