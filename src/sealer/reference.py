"""Image references with docker's normalisation rules. Pure: no I/O.

``nginx`` → ``docker.io/library/nginx:latest``; ``localhost:5000/a/b@sha256:…``; ``name:tag@sha256:…`` keeps both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sealer.digest import Digest, is_digest
from sealer.errors import ReferenceError_

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$"
)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
NAME_TOTAL_MAX = 255


@dataclass(frozen=True)
class Reference:
    """A fully normalised image reference. ``tag`` and ``digest`` may both be set."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def repository(self) -> str:
        """``domain/path`` — the name without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def name(self) -> str:
        return self.repository

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + str(self.digest)
        return s

    @property
    def identifier(self) -> str:
        """What the distribution API puts after /manifests/: digest when known, else tag."""
        if self.digest:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, digest=digest)


def split_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into domain and remainder exactly as docker does."""
    i = name.find("/")
    if i == -1 or (
        "." not in name[:i] and ":" not in name[:i] and name[:i] != "localhost"
        and name[:i].lower() == name[:i]
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = name[:i], name[i + 1:]
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = f"{OFFICIAL_NAMESPACE}/{remainder}"
    return domain, remainder


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse and normalise an image reference.

    With ``default_tag`` a reference that has neither tag nor digest gets ``latest``.
    """
    if not isinstance(text, str):
        raise ReferenceError_(f"parse reference {text!r}: not a string")
    s = text.strip()
    if not s:
        raise ReferenceError_("parse reference '': empty")
    if any(c.isspace() for c in s):
        raise ReferenceError_(f"parse reference {text!r}: contains whitespace")
    digest: Digest | None = None
    if "@" in s:
        s, _, d = s.partition("@")
        if not is_digest(d):
            raise ReferenceError_(f"parse reference {text!r}: invalid digest {d!r}")
        digest = Digest(d)
    tag: str | None = None
    slash = s.rfind("/")
    colon = s.rfind(":")
    if colon > slash:
        s, tag = s[:colon], s[colon + 1:]
        if not _TAG_RE.match(tag):
            raise ReferenceError_(f"parse reference {text!r}: invalid tag {tag!r}")
    if not s:
        raise ReferenceError_(f"parse reference {text!r}: missing repository name")
    domain, path = split_domain(s)
    if not _DOMAIN_RE.match(domain):
        raise ReferenceError_(f"parse reference {text!r}: invalid registry host {domain!r}")
    if not _PATH_RE.match(path):
        if path.lower() != path and _PATH_RE.match(path.lower()):
            raise ReferenceError_(f"parse reference {text!r}: repository name must be lowercase")
        raise ReferenceError_(f"parse reference {text!r}: invalid repository name {path!r}")
    if len(domain) + 1 + len(path) > NAME_TOTAL_MAX:
        raise ReferenceError_(f"parse reference {text!r}: repository name longer than {NAME_TOTAL_MAX}")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except ReferenceError_:
        return False
    return True


def normalize(text: str) -> str:
    """The fully qualified string form (``docker.io/library/nginx:latest``)."""
    return str(parse(text))
