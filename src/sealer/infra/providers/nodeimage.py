"""The node image for container builds: a Debian root filesystem made offline with ``mmdebstrap``.

The recipe (suite, mirror, package list) is hashed; the image is tagged ``sealer-node:<hash>``, its tar is
cached in the cache directory, and it is rebuilt only when the recipe changes. The mirror is the one the machine
is configured with (``/etc/apt/sources.list``, ``sources.list.d/*.list`` and deb822 ``*.sources``), so the build
needs nothing but the package mirror that apt already uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from sealer.infra.providers.base import ProviderError

log = logging.getLogger(__name__)

# What a node needs: sshd (delivery reaches nodes over SSH), a container runtime, and the tools the base
# image's scripts use. No systemd: sshd runs as the container's process under docker's init.
NODE_PACKAGES = ("openssh-server", "iproute2", "procps", "ca-certificates", "busybox-static", "containerd",
                 "runc", "python3-minimal", "kmod", "iptables", "socat", "conntrack", "ethtool")
REPOSITORY = "sealer-node"


@dataclass(frozen=True)
class NodeImageRecipe:
    mirror: str
    suite: str = "bookworm"
    packages: tuple[str, ...] = NODE_PACKAGES
    variant: str = "minbase"
    extra: tuple[str, ...] = field(default=())

    @property
    def digest(self) -> str:
        data = json.dumps([self.suite, self.mirror, sorted(self.packages), self.variant, list(self.extra)])
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"{REPOSITORY}:{self.digest}"


def debian_mirror(paths: Iterable[Path]) -> tuple[str, str] | None:
    """``(mirror URL, suite)`` of the first Debian main archive in apt's source files (one-line or deb822)."""
    for path in paths:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, _, v = line.partition(":")
                    fields[k.strip().lower()] = v.strip()
                uris, suites = fields.get("uris", "").split(), fields.get("suites", "").split()
                if "deb" in fields.get("types", "").split() and uris and suites and "security" not in uris[0]:
                    return uris[0], suites[0]
        else:
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 3 and parts[0] == "deb":
                    args = [p for p in parts[1:] if not p.startswith("[")]
                    if len(args) >= 2 and "security" not in args[0]:
                        return args[0], args[1]
    return None


def apt_source_files(root: Path = Path("/etc/apt")) -> list[Path]:
    files = [root / "sources.list"]
    d = root / "sources.list.d"
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.suffix in (".list", ".sources"))
    return files


def ensure_node_image(client: Any, recipe: NodeImageRecipe, cache_dir: Path) -> str:
    """Make sure the docker engine has the node image; build it with mmdebstrap when nothing is cached."""
    tag = recipe.tag
    if client.images.list(name=tag):
        return tag
    cache_dir.mkdir(parents=True, exist_ok=True)
    tar = cache_dir / f"{recipe.digest}.tar"
    with FileLock(str(cache_dir / f"{recipe.digest}.lock")):
        if not tar.exists():
            _mmdebstrap(recipe, tar)
    log.info("importing node image %s", tag)
    client.api.import_image_from_file(str(tar), repository=REPOSITORY, tag=recipe.digest)
    if not client.images.list(name=tag):
        raise ProviderError(f"importing the node image {tag} into docker failed")
    return tag


def _mmdebstrap(recipe: NodeImageRecipe, dest: Path) -> None:
    if shutil.which("mmdebstrap") is None:
        raise ProviderError("container builds need mmdebstrap to make their node image",
                            "install it: apt-get install mmdebstrap")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".node-", suffix=".tar")
    os.close(fd)
    cmd = ["mmdebstrap", f"--variant={recipe.variant}", "--include=" + ",".join(recipe.packages),
           # host keys are made when a node starts, never baked into the image
           "--customize-hook=rm -f \"$1\"/etc/ssh/ssh_host_*",
           *recipe.extra, recipe.suite, tmp, recipe.mirror]
    log.info("building node image: %s", " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        os.unlink(tmp)
        tail = "\n".join((r.stderr or r.stdout).splitlines()[-15:])
        raise ProviderError(f"mmdebstrap failed making the node image (exit {r.returncode}):\n{tail}",
                            f"check that apt can reach {recipe.mirror}")
    os.replace(tmp, dest)
