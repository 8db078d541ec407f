"""sealer v0.9 applications of a cluster image: what delivery runs (:func:`launch_plan`) and whether the
cluster's Kubernetes version fits the image's KUBEVERSION (:func:`satisfies`)."""

from sealer.apps.kubeversion import KubeVersionError, satisfies
from sealer.apps.launch import LaunchError, LaunchStep, inspect_fields, launch_plan

__all__ = ["KubeVersionError", "LaunchError", "LaunchStep", "inspect_fields", "launch_plan", "satisfies"]
