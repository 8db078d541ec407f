"""Cloud settings read at the edge: Aliyun credentials and endpoints from flags and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sealer.cli.settings import default_state_dir
from sealer.errors import UnsupportedError
from sealer.infra.providers.aliyun import AliyunCredentials

# The SDK's standard variables first; sealer (Go) v0.8 users have ACCESSKEYID / ACCESSKEYSECRET set.
_ID_VARS = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ACCESSKEYID")
_SECRET_VARS = ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ACCESSKEYSECRET")

NO_CREDENTIALS = (
    "build type 'cloud' (the default) creates pay-as-you-go Aliyun ECS hosts and needs Aliyun credentials: set "
    "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS "
    "credentials). Or build without a cloud: `-b lite` (no cluster; images found in manifests/, charts/ and "
    "manifests/imageList) or `-b container` (docker containers as nodes)."
)


def aliyun_credentials(env: Mapping[str, str] | None = None) -> AliyunCredentials | None:
    env = os.environ if env is None else env
    key_id = next((env[v] for v in _ID_VARS if env.get(v)), None)
    secret = next((env[v] for v in _SECRET_VARS if env.get(v)), None)
    if not key_id or not secret:
        return None
    return AliyunCredentials(key_id, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)


def require_aliyun_credentials(env: Mapping[str, str] | None = None) -> AliyunCredentials:
    creds = aliyun_credentials(env)
    if creds is None:
        raise UnsupportedError(NO_CREDENTIALS)
    return creds


def state_dir(value: Path | None = None) -> Path:
    """``value`` (a --state-dir flag), else the settings' default (:func:`sealer.cli.settings.default_state_dir`)."""
    return value if value is not None else default_state_dir(os.environ)
