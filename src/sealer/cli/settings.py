"""The settings object: built once by the CLI from the global flags and the environment, then handed down as the
library's own option values. Library modules read no environment variable; every one sealer honours is read here.

    SEALER_ROOT                 store root (also --root)
    SEALER_REGISTRIES_CONF      mirrors file; a missing file named here means "no mirrors"
    REGISTRY_AUTH_FILE          credentials file (also --authfile); else $DOCKER_CONFIG/config.json
    SEALER_LOAD_MAX_ENTRIES     tar-bomb limits of `sealer load`
    SEALER_LOAD_MAX_BYTES
    SOURCE_DATE_EPOCH           fixed creation time of built images (reproducible builds)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sealer.errors import ArchiveError

if TYPE_CHECKING:  # imported where used: building the settings must not load the registry client or the store
    from sealer.registry.options import RegistryOptions
    from sealer.store.archive import LoadLimits

DEFAULT_REGISTRIES_CONF = Path("/etc/containers/registries.conf")


def default_root(env: Mapping[str, str]) -> Path:
    if env.get("SEALER_ROOT"):
        return Path(env["SEALER_ROOT"])
    if os.geteuid() == 0:
        return Path("/var/lib/sealer")
    xdg = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(xdg) / "sealer"


@dataclass(frozen=True)
class Settings:
    root: Path
    debug: bool = False
    registries_conf: Path | None = None       # None: no mirrors
    auth_file: Path | None = None             # None: the library's default, ~/.docker/config.json
    load_limit_env: tuple[str, str] = ("", "")  # SEALER_LOAD_MAX_ENTRIES, SEALER_LOAD_MAX_BYTES as given
    source_date_epoch: int | None = None

    @classmethod
    def from_environment(cls, root: Path | None = None, debug: bool = False,
                         env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        named = env.get("SEALER_REGISTRIES_CONF")
        if named:
            conf = Path(named) if Path(named).is_file() else None
        else:
            conf = DEFAULT_REGISTRIES_CONF if DEFAULT_REGISTRIES_CONF.is_file() else None
        auth = None
        if env.get("REGISTRY_AUTH_FILE"):
            auth = Path(env["REGISTRY_AUTH_FILE"])
        elif env.get("DOCKER_CONFIG"):
            auth = Path(env["DOCKER_CONFIG"]) / "config.json"
        epoch_raw = env.get("SOURCE_DATE_EPOCH", "")
        return cls(root=root or default_root(env), debug=debug, registries_conf=conf, auth_file=auth,
                   load_limit_env=(env.get("SEALER_LOAD_MAX_ENTRIES", ""), env.get("SEALER_LOAD_MAX_BYTES", "")),
                   source_date_epoch=int(epoch_raw) if epoch_raw.isdigit() else None)

    def load_limits(self) -> LoadLimits:
        """Checked when `load` runs (a bad value fails that command only)."""
        from sealer.store.archive import MAX_BYTES, MAX_ENTRIES, LoadLimits

        entries, size = self.load_limit_env
        return LoadLimits(_num("SEALER_LOAD_MAX_ENTRIES", entries, MAX_ENTRIES),
                          _num("SEALER_LOAD_MAX_BYTES", size, MAX_BYTES))

    def auth_file_for(self, flag: Path | None) -> Path | None:
        return flag if flag is not None else self.auth_file

    def registry_options(self, *, insecure: tuple[str, ...] = (), ca_cert: Path | None = None,
                         authfile: Path | None = None, registries_conf: Path | None = None,
                         max_parallel: int = 8) -> RegistryOptions:
        from sealer.registry.options import RegistryOptions

        conf = registries_conf or self.registries_conf
        return RegistryOptions(insecure=frozenset(insecure), ca_cert=ca_cert, auth_file=self.auth_file_for(authfile),
                               registries_conf=conf, max_parallel=max_parallel, use_mirrors=conf is not None)


def _num(name: str, raw: str, default: int) -> int:
    raw = raw.strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ArchiveError(f"load: {name}={raw!r} is not a number")
    return int(raw)


