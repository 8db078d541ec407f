"""The launch plan of a cluster image: which shell commands delivery runs, in order. Pure.

sealer (pkg/application/appdriver.go, pkg/define/application/v1/application.go at f4f89c5):

* the image's ``launch.cmds`` (CMD/CMDS), when present, are run as they are;
* otherwise each app of ``launch.app_names`` in order; ``--apps a,b`` chooses the apps instead (each must
  be an application of the image);
* an app with APPCMDS runs them in its directory; else by type: helm → ``helm upgrade --install NAME DIR``
  (sealer runs ``helm install``; upgrade --install makes a re-run idempotent), kube → ``kubectl apply -f``
  per file, shell → ``bash`` per file. Paths are relative to the rootfs (delivery runs ``cd ROOTFS && ...``);
  app files live in ``application/apps/NAME/``.
* env: the app's APPENV over the image's ENV.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

APP_ROOT = "application/apps"


class LaunchError(ValueError):
    """An app asked for is not in the image, or an app has nothing to run."""


@dataclass(frozen=True)
class LaunchStep:
    command: str                        # one shell command, run from the rootfs (or ``cwd`` under it)
    app: str | None = None              # None for the image's CMDS/CMD
    kind: str = "cmds"                  # cmds | appcmds | helm | kube | shell
    cwd: str = "."                      # relative to the rootfs
    env: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"app": self.app, "kind": self.kind, "cwd": self.cwd, "command": self.command, "env": dict(self.env)}


def _field(ext: Any, name: str, go: str) -> Any:
    if isinstance(ext, Mapping):
        if go in ("cmds", "app_names"):
            return (ext.get("launch") or {}).get(go) or []
        return ext.get(go) or ([] if go == "applications" else {})
    return getattr(ext, name)


def launch_plan(extension: Any, apps: Sequence[str] | None = None) -> list[LaunchStep]:
    """Steps for ``extension`` (an :class:`sealer.interop.ImageExtension` or its Go JSON as a dict).

    ``apps``: ``sealer run --apps`` (None: the image's own launch; ``[]``: launch nothing).
    """
    applications = {str(a.get("name")): a for a in _field(extension, "applications", "applications")}
    env = dict(_field(extension, "env", "env"))
    cmds = list(_field(extension, "cmds", "cmds"))
    if apps is None:
        if cmds:
            return [LaunchStep(command=c, env=env) for c in cmds if c]
        apps = list(_field(extension, "app_names", "app_names"))
    missing = [a for a in apps if a and a not in applications]
    if missing:
        have = ", ".join(sorted(applications)) or "none"
        raise LaunchError(f"app {', '.join(missing)} is not in the image (its apps: {have})")
    steps: list[LaunchStep] = []
    for name in apps:
        if name:
            steps += _app_steps(applications[name], env)
    return steps


def _app_steps(app: Mapping[str, Any], global_env: Mapping[str, str]) -> list[LaunchStep]:
    name = str(app["name"])
    root = f"{APP_ROOT}/{name}"
    env = {**global_env, **dict(app.get("env") or {})}
    if app.get("cmds"):
        return [LaunchStep(command=c, app=name, kind="appcmds", cwd=root, env=env) for c in app["cmds"]]
    kind = app.get("type") or ""
    files = [posixpath.normpath(f"{root}/{f.lstrip('/')}") for f in app.get("files") or []]
    if kind == "helm":
        return [LaunchStep(command=f"helm upgrade --install {shlex.quote(name)} {shlex.quote(root + '/')}",
                           app=name, kind="helm", env=env)]
    if kind == "kube":
        return [LaunchStep(command=f"kubectl apply -f {shlex.quote(f)}", app=name, kind="kube", env=env)
                for f in files]
    if kind == "shell":
        return [LaunchStep(command=f"bash {shlex.quote(f)}", app=name, kind="shell", env=env) for f in files]
    raise LaunchError(f"app {name} has no type ({kind or 'unknown'}) and no APPCMDS: nothing to run")


def inspect_fields(annotations: Mapping[str, str]) -> dict[str, Any]:
    """``applications`` and ``launch`` (with the plan) for ``sealer inspect``, from the manifest annotations."""
    from sealer.interop import ImageExtension
    from sealer.interop.extension import application_to_go

    text = annotations.get("sealer.image.extension", "")
    if not text.strip():
        return {}
    ext = ImageExtension.parse(text)
    try:
        plan: list[dict[str, Any]] | str = [s.to_json() for s in launch_plan(ext)]
    except LaunchError as e:
        plan = f"error: {e}"
    return {"applications": [application_to_go(a) for a in ext.applications], "imageType": ext.type,
            "launch": {"cmds": list(ext.cmds), "appNames": list(ext.app_names), "plan": plan},
            "env": dict(ext.env)}
