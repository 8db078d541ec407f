"""Exception tree of sealer-py.

Every error message says verb + subject ("pull docker.io/library/nginx:1.25: manifest unknown").

    SealerError
    ├── ReferenceError_          bad image reference
    ├── DigestError              size or digest mismatch while verifying content
    ├── KubefileError            Kubefile syntax/semantic error, carries FILE:LINE
    ├── StoreError               local store problems
    │   └── ImageNotFound        no such image in the store
    ├── BuildError               a build step failed (carries FILE:LINE where known)
    ├── RegistryError            distribution protocol failures
    │   ├── AuthError            401/403, bad credentials
    │   └── NotFoundError        manifest/blob unknown
    ├── DiscoveryError           bad manifest / chart / imageList (carries file and line)
    ├── ArchiveError             hostile or corrupt tar archive
    ├── ClusterConfigError       Clusterfile / template / registry_config errors
    └── UnsupportedError         a feature that does not exist here (cloud build without credentials, ...)
"""

from __future__ import annotations


class SealerError(Exception):
    """Base of every error sealer raises on purpose; the CLI prints it without a traceback, then its ``hint``
    (what to do about it) once, kept apart from the message so a program can show it its own way."""

    exit_code = 1
    hint: str | None = None

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        if hint is not None:
            self.hint = hint


class ReferenceError_(SealerError):
    """An image reference that does not parse."""


class DigestError(SealerError):
    """Content whose size or digest is not the one announced."""


class LocatedError(SealerError):
    """An error that points at FILE:LINE."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, *,
                 hint: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.__str__(), hint=hint)

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return f"{where}{self.message}"


class KubefileError(LocatedError):
    """A Kubefile that cannot be parsed or is not valid."""


class StoreError(SealerError):
    """The local image store cannot do what was asked."""


class ImageNotFound(StoreError):
    """No image of that name in the local store."""


class BuildError(LocatedError):
    """A build step failed."""


class RegistryError(SealerError):
    """A registry answered with an error or could not be reached: ``status`` is the HTTP status and ``codes`` the
    registry's error codes (``MANIFEST_UNKNOWN``, ``DENIED``, ...) when it answered."""

    def __init__(self, message: str, *, status: int | None = None, codes: tuple[str, ...] = (),
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.codes = codes


class AuthError(RegistryError):
    """The registry refused the credentials (or none were given)."""


class NotFoundError(RegistryError):
    """The registry does not know that manifest or blob."""


class DiscoveryError(LocatedError):
    """A manifest, chart or imageList that cannot be read."""


class ArchiveError(SealerError):
    """A tar archive that is corrupt or tries to escape its directory."""


class ClusterConfigError(LocatedError):
    """A Clusterfile, kubeadm template or registry_config.yaml that is not valid."""


class UnsupportedError(SealerError):
    """Asked for something this build of sealer cannot do here."""

    exit_code = 2
