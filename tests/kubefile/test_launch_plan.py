"""sealer.apps.launch_plan: what delivery runs for an image's extension (sealer's appdriver rules)."""

from __future__ import annotations

import pytest

from sealer.apps import LaunchError, launch_plan
from sealer.interop import ImageExtension

EXT = {
    "buildClient": {"sealerVersion": "v0.10.0", "buildahVersion": "1.27"}, "schemaVersion": "v1alpha1",
    "type": "app-installer",
    "applications": [
        {"name": "chart", "type": "helm", "files": ["chart"], "version": "v1"},
        {"name": "yamls", "type": "kube", "files": ["/a.yaml", "/sub/b.yaml"], "version": "v1", "env": {"X": "app"}},
        {"name": "sh", "type": "shell", "files": ["install.sh"], "version": "v1"},
        {"name": "custom", "version": "v1", "cmds": ["kubectl apply -f app.yaml", "kubectl get pods"]},
        {"name": "broken", "version": "v1"},
    ],
    "env": {"X": "global", "Y": "g"},
    "launch": {"app_names": ["custom", "chart", "yamls", "sh"]},
}


def test_launch_in_order_by_type() -> None:
    steps = launch_plan(EXT)
    assert [(s.app, s.kind, s.cwd, s.command) for s in steps] == [
        ("custom", "appcmds", "application/apps/custom", "kubectl apply -f app.yaml"),
        ("custom", "appcmds", "application/apps/custom", "kubectl get pods"),
        ("chart", "helm", ".", "helm upgrade --install chart application/apps/chart/"),
        ("yamls", "kube", ".", "kubectl apply -f application/apps/yamls/a.yaml"),
        ("yamls", "kube", ".", "kubectl apply -f application/apps/yamls/sub/b.yaml"),
        ("sh", "shell", ".", "bash application/apps/sh/install.sh"),
    ]
    assert steps[3].env == {"X": "app", "Y": "g"} and steps[0].env == {"X": "global", "Y": "g"}


def test_apps_selects_and_validates() -> None:
    assert [s.command for s in launch_plan(EXT, ["sh"])] == ["bash application/apps/sh/install.sh"]
    assert launch_plan(EXT, []) == []
    with pytest.raises(LaunchError, match="app nope is not in the image"):
        launch_plan(EXT, ["sh", "nope"])
    with pytest.raises(LaunchError, match="broken has no type"):
        launch_plan(EXT, ["broken"])


def test_cmds_win_and_typed_extension() -> None:
    ext = {**EXT, "launch": {"cmds": ["kubectl apply -f manifests/app.yaml"], "app_names": ["sh"]}}
    assert [(s.app, s.command) for s in launch_plan(ext)] == [(None, "kubectl apply -f manifests/app.yaml")]
    typed = ImageExtension.parse(__import__("json").dumps(EXT))
    assert [s.command for s in launch_plan(typed)] == [s.command for s in launch_plan(EXT)]


def test_paths_are_quoted() -> None:
    ext = {"applications": [{"name": "a", "type": "shell", "files": ["x y.sh"]}], "launch": {"app_names": ["a"]}}
    assert launch_plan(ext)[0].command == "bash 'application/apps/a/x y.sh'"
