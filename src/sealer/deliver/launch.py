"""What delivery runs on master0 after kubeadm: the image's CMDs, or its sealer v0.9 applications.

sealer's rule (pkg/application, at f4f89c5): ``--cmds`` replaces the image's CMDs (the base image's still run
first); ``--apps a,b`` launches those applications instead of the image's launch; otherwise the image's own
launch — its CMDs (CMD/CMDS) when it has any, else its ``LAUNCH`` apps in order. Each app step becomes one shell
line run from the rootfs: ``cd`` into its directory, its ``APPENV`` over the image's ``ENV`` exported, then
``helm upgrade --install`` / ``kubectl apply -f`` / ``bash`` / its ``APPCMDS`` (:func:`sealer.apps.launch_plan`).

``KUBEVERSION`` (label ``app.alpha.sealer.io/supported-kube-version``) is checked against the cluster's version
(the rootfs ``Metadata``) before any host is touched.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sealer.apps import KubeVersionError, LaunchError, LaunchStep, launch_plan, satisfies
from sealer.deliver.errors import DeliveryError
from sealer.errors import SealerError
from sealer.interop import ImageExtension

KUBEVERSION_LABEL = "app.alpha.sealer.io/supported-kube-version"
EXTENSION = "sealer.image.extension"


def step_line(step: LaunchStep) -> str:
    """One shell line for a launch step, run from the rootfs."""
    exports = "".join(f"export {k}={shlex.quote(str(v))}; " for k, v in step.env.items())
    cd = f"cd {shlex.quote(step.cwd)} && " if step.cwd not in ("", ".") else ""
    return f"{cd}{exports}{step.command}" if not exports else f"({cd}{exports}{step.command})"


def extension_of(info: Mapping[str, Any]) -> ImageExtension | None:
    """The image's sealer v0.9 extension from ``inspect_image``'s manifest annotations (v0.9.3's per-app
    ``launch.appConfigs`` read as the apps' own cmds, see :mod:`sealer.interop.extension`)."""
    text = (info.get("annotations") or {}).get(EXTENSION, "")
    if not str(text).strip():
        return None
    try:
        return ImageExtension.parse(str(text))
    except SealerError as e:
        raise DeliveryError(f"read the image's {EXTENSION}: {e}") from None


def launch_commands(image_cmds: Sequence[str], base_cmds: Sequence[str], extension: Any,
                    cmds: Sequence[str] | None = None, apps: Sequence[str] | None = None) -> list[str]:
    """The shell lines delivery runs on master0 (see the module docstring)."""
    if cmds is not None:  # an empty line is skipped, as sealer v0.9 (v2app.go Launch) and v0.8 (guest.go) do
        return [*base_cmds, *(c for c in cmds if c.strip())]
    if apps is None and (image_cmds or extension is None):
        return list(image_cmds)
    if extension is None:
        raise DeliveryError(f"--apps {','.join(apps or [])}: the image has no applications")
    try:
        steps = launch_plan(extension, list(apps) if apps is not None else None)
    except LaunchError as e:
        raise DeliveryError(str(e)) from None
    own = [step_line(s) for s in steps]
    return [*base_cmds, *own] if apps is not None or not image_cmds else own


def check_kube_version(labels: Mapping[str, str], rootfs: Path, image: str) -> None:
    """Refuse an image whose KUBEVERSION the cluster's Kubernetes version does not satisfy."""
    constraint = labels.get(KUBEVERSION_LABEL)
    if not constraint:
        return
    from sealer.interop import read_metadata

    meta = read_metadata(rootfs)
    version = meta.version if meta else None
    if not version:
        return  # an app image on an existing cluster: the cluster's own version is not known here
    try:
        ok = satisfies(version, constraint)
    except KubeVersionError as e:
        raise DeliveryError(f"{image}: KUBEVERSION {constraint!r}: {e}") from None
    if not ok:
        raise DeliveryError(f"{image} supports Kubernetes {constraint} (KUBEVERSION), and this cluster runs "
                            f"{version}: use an image built for {version}, or a base that matches")
