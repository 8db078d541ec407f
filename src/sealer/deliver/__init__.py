"""Delivery: put a cluster image onto hosts over SSH (``sealer run/apply/join/delete``).

The contract with the image's scripts follows sealer v0.8 (docs/delivery.md). Modules:

* :mod:`.plan`      — what to deliver where (cluster, rootfs, hosts, roles, paths)
* :mod:`.manifest`  — content-hash manifest of the rootfs, diffed against the host's copy
* :mod:`.markers`   — per-host phase markers (``<dataroot>/.sealer/phases/<phase>``)
* :mod:`.steps`     — the remote commands of each phase (scripts, /etc/hosts, registry, mirrors, kubeadm)
* :mod:`.engine`    — runs the phases across hosts in stages, resuming at the first incomplete one
* :mod:`.cleanup`   — ``delete``: clean scripts, ``kubeadm reset``, registry stop, our lines and files
* :mod:`.state`     — the applied Clusterfile kept locally (``~/.sealer/<cluster>/Clusterfile``)
* :mod:`.reporter`  — progress callbacks (the CLI renders them)
"""

from __future__ import annotations

from sealer.deliver.errors import DeliveryError
from sealer.deliver.reporter import LogReporter, Reporter

__all__ = ["DeliveryError", "LogReporter", "Reporter"]
