"""The v0.9+ annotations we write parse as sealer's Go structs would: checked against JSON Schemas written
from sealer's struct tags, and against the exact bytes Go's json.Marshal produces."""

from __future__ import annotations

import json

import jsonschema
import pytest

from interop.fixtures import V09_CMDS, sealer_v09_image, v09_extension_json
from interop.sealer_schema import CONTAINER_IMAGES, IMAGE_EXTENSION
from sealer.interop import ImageExtension, parse_container_images, sealer_annotations, sealer_labels
from sealer.oci.model import ManifestError, Platform

EXT = "sealer.image.extension"
IMGS = "sealer.image.container.images"


def validate(ann: dict[str, str]) -> None:
    jsonschema.validate(json.loads(ann[EXT]), IMAGE_EXTENSION)
    if IMGS in ann:
        jsonschema.validate(json.loads(ann[IMGS]), CONTAINER_IMAGES)


def test_kube_installer_annotations_match_go_marshal_bytes() -> None:
    ann = sealer_annotations(
        cmds=["kubectl apply -f manifests/a.yaml", "helm install x charts/x && echo <ok>"],
        images=[("nginx:1.25", "linux/amd64"), ("quay.io/coreos/etcd@sha256:" + "a" * 64, "linux/arm64")],
        kube_installer=True, sealer_version="sealer-py-v0.1.0")
    validate(ann)
    assert list(ann) == [EXT, IMGS]
    # Field order is the Go struct order; &, <, > are HTML-escaped as Go does.
    assert ann[EXT] == (
        '{"buildClient":{"sealerVersion":"sealer-py-v0.1.0","buildahVersion":""},"schemaVersion":"v1alpha1",'
        '"type":"kube-installer","launch":{"cmds":["kubectl apply -f manifests/a.yaml",'
        '"helm install x charts/x \\u0026\\u0026 echo \\u003cok\\u003e"]}}')
    # References normalised as reference.ParseNormalizedNamed(...).String(); platform as *v1.Platform.
    assert ann[IMGS] == (
        '[{"image":"docker.io/library/nginx:1.25","platform":{"architecture":"amd64","os":"linux"}},'
        '{"image":"quay.io/coreos/etcd@sha256:' + "a" * 64 + '","platform":{"architecture":"arm64","os":"linux"}}]')


def test_app_installer_with_env_and_app_names() -> None:
    ann = sealer_annotations(cmds=[], images=[("busybox", "linux/arm/v7")], kube_installer=False,
                             app_names=["mysql", "redis"], env={"b": "2", "a": "1 & 2"}, sealer_version="v0.1")
    validate(ann)
    ext = json.loads(ann[EXT])
    assert ext["type"] == "app-installer"
    assert ext["launch"] == {"app_names": ["mysql", "redis"]}          # empty cmds omitted (omitempty)
    assert ann[EXT].index('"env":{"a":"1 \\u0026 2","b":"2"}') > 0       # Go sorts map keys
    assert json.loads(ann[IMGS]) == [{"image": "docker.io/library/busybox",
                                      "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}}]


def test_no_images_means_no_container_images_annotation_like_sealer_build() -> None:
    ann = sealer_annotations(cmds=["a"], images=[], kube_installer=True, sealer_version="v")
    assert list(ann) == [EXT]
    assert json.loads(ann[EXT])["launch"] == {"cmds": ["a"]}
    validate(ann)


def test_launch_is_always_written_even_when_empty() -> None:
    ann = sealer_annotations(cmds=[], images=[], kube_installer=False, sealer_version="v")
    assert ann[EXT].endswith('"type":"app-installer","launch":{}}')
    validate(ann)


def test_sealer_v09_fixture_annotations_satisfy_the_schema_and_round_trip() -> None:
    """The hand-written sealer v0.9 annotations (the schema's own sanity check) parse back unchanged."""
    ann = sealer_v09_image().images[0].manifest["annotations"]
    validate(ann)
    ext = ImageExtension.parse(ann[EXT])
    assert ext.cmds == tuple(V09_CMDS) and ext.type == "kube-installer" and ext.buildah_version == "1.27.1"
    assert ext.marshal() == v09_extension_json(V09_CMDS, "v0.9.3") == ann[EXT]
    imgs = parse_container_images(ann[IMGS])
    assert [(c.image, c.platform) for c in imgs] == [("docker.io/library/busybox:1.36", Platform("linux", "amd64"))]


@pytest.mark.parametrize("bad", [
    {"buildClient": {"sealerVersion": "v"}, "schemaVersion": "v1alpha1", "launch": {}},           # missing field
    {"buildClient": {"sealerVersion": "v", "buildahVersion": ""}, "schemaVersion": "v1alpha1",
     "launch": {"appNames": ["x"]}},                                                                # wrong tag
    {"buildClient": {"sealerVersion": "v", "buildahVersion": ""}, "schemaVersion": "v1alpha1",
     "type": "", "launch": {}},                                                                      # omitempty
    {"buildClient": {"sealerVersion": "v", "buildahVersion": ""}, "schemaVersion": "v1alpha1",
     "launch": {"cmds": "echo"}},                                                                    # wrong type
])
def test_schema_rejects_what_go_would_not_produce(bad: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, IMAGE_EXTENSION)


def test_container_images_schema_requires_platform_key() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"image": "x"}], CONTAINER_IMAGES)
    jsonschema.validate([{"image": "x", "platform": None}], CONTAINER_IMAGES)


def test_parse_errors_are_clear() -> None:
    with pytest.raises(ManifestError, match="sealer.image.extension: not JSON"):
        ImageExtension.parse("{nope")
    with pytest.raises(ManifestError, match="launch.cmds"):
        ImageExtension.parse('{"launch":{"cmds":"x"}}')
    with pytest.raises(ManifestError, match="item 0 has no string 'image'"):
        parse_container_images('[{"appName":"x"}]')
    assert parse_container_images("") == [] and parse_container_images("null") == []


def test_bad_reference_or_platform_is_refused() -> None:
    with pytest.raises(ManifestError, match="sealer.image.container.images"):
        sealer_annotations(cmds=[], images=[("Not A Ref", "linux/amd64")], kube_installer=True, sealer_version="v")
    with pytest.raises(ManifestError, match="parse platform"):
        sealer_annotations(cmds=[], images=[("nginx", "linux/")], kube_installer=True, sealer_version="v")


def test_sealer_labels() -> None:
    assert sealer_labels("v0.1.0") == {"io.sealer.version": "v0.1.0"}


def test_wrongly_typed_struct_fields_are_refused_as_go_would() -> None:
    with pytest.raises(ManifestError, match="buildClient and launch must be objects"):
        ImageExtension.parse('{"launch":[]}')
    with pytest.raises(ManifestError, match="applications must be a list"):
        ImageExtension.parse('{"applications":{}}')
