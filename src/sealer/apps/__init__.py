"""sealer v0.9 applications of a cluster image: what delivery runs (:func:`launch_plan`)."""

from sealer.apps.launch import LaunchError, LaunchStep, inspect_fields, launch_plan

__all__ = ["LaunchError", "LaunchStep", "inspect_fields", "launch_plan"]
