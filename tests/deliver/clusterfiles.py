"""Clusterfiles for the delivery tests (sealer v2 YAML written as text, as a user would), and reading a
delivery's ``--json`` summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def clusterfile_text(name: str, image: str, masters: Sequence[str], nodes: Sequence[str] = (), *, ssh: str,
                     env: str = "MyVar=x", spec: str = "") -> str:
    """``ssh``: the body of ``spec.ssh`` (``pk: KEY`` or ``passwd: "..."``); ``spec``: more ``spec`` lines,
    indented by two spaces, each ending with a newline."""
    node_group = f"    - ips: [{', '.join(nodes)}]\n      roles: [node]\n" if nodes else ""
    return f"""apiVersion: sealer.io/v2
kind: Cluster
metadata: {{name: {name}}}
spec:
  image: {image}
  env: [{env}]
  ssh: {{{ssh}}}
  containerRuntime: {{type: containerd}}
{spec}  hosts:
    - ips: [{', '.join(masters)}]
      roles: [master]
{node_group}"""


def write_clusterfile(path: Path, name: str, image: str, masters: Sequence[str], nodes: Sequence[str] = (), *,
                      ssh: str, env: str = "MyVar=x", spec: str = "") -> Path:
    path.write_text(clusterfile_text(name, image, masters, nodes, ssh=ssh, env=env, spec=spec))
    return path


def local_registry(password: str | None = None, *, insecure: bool | None = None, ha: bool | None = None) -> str:
    """``spec.registry.localRegistry`` at sea.hub:5000 (as ``spec`` lines), with credentials when ``password``."""
    text = "  registry:\n    localRegistry:\n      domain: sea.hub\n      port: 5000\n"
    if password is not None:
        text += f'      username: puller\n      password: "{password}"\n'
    if ha is not None:
        text += f"      ha: {str(ha).lower()}\n"
    if insecure is not None:
        text += f"      insecure: {str(insecure).lower()}\n"
    return text


def cmds_status(out: str, host: str) -> str:
    """The status of ``host``'s ``cmds`` phase in a delivery's ``--json`` output."""
    return str(json.loads(out[out.index("{"):])["hosts"][host]["cmds"]["status"])
