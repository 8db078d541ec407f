"""The settings object: built once by the CLI from the global flags and the environment, then handed down as the
library's own option values. Library modules read no environment variable; every one sealer honours is read here.

    SEALER_ROOT                 store root (also --root)
    SEALER_REGISTRIES_CONF      mirrors file; a missing file named here means "no mirrors"
    REGISTRY_AUTH_FILE          credentials file (also --authfile); else $DOCKER_CONFIG/config.json
    SEALER_LOAD_MAX_ENTRIES     tar-bomb limits of `sealer load`
    SEALER_LOAD_MAX_BYTES
    SOURCE_DATE_EPOCH           fixed creation time of built images (reproducible builds)
    SEALER_STATE_DIR            per-user state: applied Clusterfiles, infra ledgers (also --state-dir)
    SEALER_CHART_MEMORY_MB      resource limits of the library (sealer.limits), handed to it by
    SEALER_TEMPLATE_MEMORY_MB   :meth:`Settings.configure_library` before a command runs; a value that is not a
    SEALER_TEMPLATE_TIMEOUT     number means the default
    SEALER_NET_MIN_RATE
    SEALER_NET_WINDOW
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sealer import limits as lib_limits
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


def default_state_dir(env: Mapping[str, str]) -> Path:
    """Where sealer keeps per-user state (applied Clusterfiles, infra ledgers): ``$SEALER_STATE_DIR`` or
    ``~/.sealer``."""
    named = env.get("SEALER_STATE_DIR")
    return Path(named) if named else Path.home() / ".sealer"


def library_limits(env: Mapping[str, str]) -> lib_limits.Limits:
    d = lib_limits.Limits()
    return lib_limits.Limits(
        chart_memory_mb=int(_number(env, "SEALER_CHART_MEMORY_MB", d.chart_memory_mb)),
        template_memory_mb=int(_number(env, "SEALER_TEMPLATE_MEMORY_MB", d.template_memory_mb)),
        template_timeout=_number(env, "SEALER_TEMPLATE_TIMEOUT", d.template_timeout),
        net_min_rate=_number(env, "SEALER_NET_MIN_RATE", d.net_min_rate),
        net_window=_number(env, "SEALER_NET_WINDOW", d.net_window))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    root: Path
    debug: bool = False
    registries_conf: Path | None = None       # None: no mirrors
    auth_file: Path | None = None             # None: the library's default, ~/.docker/config.json
    load_limit_env: tuple[str, str] = ("", "")  # SEALER_LOAD_MAX_ENTRIES, SEALER_LOAD_MAX_BYTES as given
    source_date_epoch: int | None = None
    state_dir: Path | None = None             # None: ~/.sealer, resolved when asked (state_dir_for)
    limits: lib_limits.Limits = lib_limits.Limits()

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
                   source_date_epoch=int(epoch_raw) if epoch_raw.isdigit() else None,
                   state_dir=Path(env["SEALER_STATE_DIR"]) if env.get("SEALER_STATE_DIR") else None,
                   limits=library_limits(env))

    def configure_library(self) -> None:
        """Hand the library its resource limits for this process (render workers, network reads)."""
        lib_limits.configure(self.limits)

    def state_dir_for(self, flag: Path | None) -> Path:
        """``--state-dir``, else $SEALER_STATE_DIR, else ~/.sealer."""
        if flag is not None:
            return flag
        return self.state_dir if self.state_dir is not None else default_state_dir({})

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


