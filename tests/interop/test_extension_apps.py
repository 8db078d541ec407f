"""``sealer.image.extension`` with applications, env and launch, byte for byte as Go's json.Marshal of sealer's
ImageExtension / v1.Application (pkg/define/image/v1/sealer_image.go, pkg/define/application/v1/application.go
at sealerio/sealer f4f89c5): declared field order, omitempty fields left out, map keys sorted, <>& escaped."""

from __future__ import annotations

import json

import jsonschema

from interop.sealer_schema import IMAGE_EXTENSION
from sealer.interop import ImageExtension, sealer_annotations
from sealer.interop.extension import application_to_go


def test_applications_env_launch_as_go_marshals() -> None:
    ann = sealer_annotations(
        cmds=[], images=[], kube_installer=False, app_names=["a", "b"], env={"B": "2", "A": "<1>"},
        applications=[{"version": "v1", "files": ["x.yaml"], "type": "kube", "name": "a", "env": {"z": "1", "y": "&"}},
                      {"name": "b", "cmds": ["kubectl apply -f b.yaml"], "version": "v1", "files": []}],
        sealer_version="v0.1")
    text = ann["sealer.image.extension"]
    assert text == (
        '{"buildClient":{"sealerVersion":"v0.1","buildahVersion":""},"schemaVersion":"v1alpha1",'
        '"type":"app-installer","applications":[{"name":"a","type":"kube","files":["x.yaml"],"version":"v1",'
        '"env":{"y":"\\u0026","z":"1"}},{"name":"b","version":"v1","cmds":["kubectl apply -f b.yaml"]}],'
        '"env":{"A":"\\u003c1\\u003e","B":"2"},"launch":{"app_names":["a","b"]}}')
    doc = json.loads(text)
    jsonschema.validate(doc, IMAGE_EXTENSION)
    back = ImageExtension.parse(text)
    assert back.marshal() == text
    assert [application_to_go(a) for a in back.applications] == doc["applications"]


def test_launch_cmds_only() -> None:
    text = sealer_annotations(cmds=["kubectl apply -f m.yaml"], images=[], kube_installer=True,
                              sealer_version="v0.1")["sealer.image.extension"]
    assert text.endswith('"type":"kube-installer","launch":{"cmds":["kubectl apply -f m.yaml"]}}')
