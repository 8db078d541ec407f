"""Our sealer-format fixtures checked against rules taken from sealer's code (see the citations in
sealer_schema.py and fixtures.py), so a fixture that drifts from what sealer writes fails here rather than
silently agreeing with our reader."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from interop.fixtures import sealer_v08_image, sealer_v09_image
from interop.sealer_schema import CONTAINER_IMAGES, IMAGE_EXTENSION, LEGACY_IMAGE_CONFIG_BLOB


@pytest.mark.parametrize("cmd_style", ["config", "layers"])
def test_v08_config_blob_matches_sealers_structs(cmd_style: str) -> None:
    img = sealer_v08_image(cmd_style=cmd_style, platforms=("linux/amd64", "linux/arm/v7"))
    for p in img.images:
        cfg = p.config
        jsonschema.validate(cfg, LEGACY_IMAGE_CONFIG_BLOB)
        spec = cfg["spec"]
        # push.go:343-352: os/architecture from spec.platform, one history entry per spec layer
        assert (cfg["os"], cfg["architecture"]) == (spec["platform"]["os"], spec["platform"]["architecture"])
        assert [h["created_by"] for h in cfg["history"]] == [f"{x['type']} {x['value']}" for x in spec["layers"]]
        assert [bool(h.get("empty_layer")) for h in cfg["history"]] == [not x.get("id") for x in spec["layers"]]
        # layer_store.go:91-101: a layer's id is the sha256 of its uncompressed tar, in manifest order
        assert [x["id"] for x in spec["layers"] if x.get("id")] == [layer.diff_id for layer in p.layers]
        # v0.7 (2a4d2012 image_types.go:74-77) has no cmd; v0.8 (884513ea :73-93) always writes cmd and args
        assert ("cmd" in spec["image_config"]) == (cmd_style == "config")
    # manifestlist.go:87-123: the list's platform carries the variant (PlatformSpecFromOCI, utils.go:26-37),
    # and distribution serialises with a three-space indent (manifestlist.go:184)
    top = json.loads(img.top_raw)
    assert [m["platform"] for m in top["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm", "os": "linux", "variant": "v7"}]
    assert img.top_raw.startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": ')


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "sealerVersion"), "v0.8.6"),                          # misspelt tag (sealer_version)
    (("spec", "image_config", "cmd", "cmds"), ["x"]),               # ImageCmd has parent/current only
    (("spec", "layers", 0, "hash"), "sha256:" + "0" * 64),          # Layer has id/type/value only
    (("apiVersion",), ""),                                          # omitempty: never written empty
    (("status", "phase"), "x"),                                     # ImageStatus is empty
])
def test_legacy_schema_refuses_what_sealer_never_writes(path: tuple[Any, ...], value: Any) -> None:
    cfg = copy.deepcopy(sealer_v08_image(platforms=("linux/amd64",)).images[0].config)
    node: Any = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cfg, LEGACY_IMAGE_CONFIG_BLOB)


def test_v07_labels_are_written_even_when_nil() -> None:
    cfg = sealer_v08_image(cmd_style="layers", platforms=("linux/amd64",)).images[0].config
    assert cfg["spec"]["image_config"] == {"args": {"Version": "v1.19.8"}, "labels": None}
    del cfg["spec"]["image_config"]["labels"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cfg, LEGACY_IMAGE_CONFIG_BLOB)


def test_v09_annotations_match_sealers_structs() -> None:
    img = sealer_v09_image()
    ann = img.images[0].manifest["annotations"]
    ext = json.loads(ann["sealer.image.extension"])
    jsonschema.validate(ext, IMAGE_EXTENSION)
    # declaration order of ImageExtension (a51d0ec0:pkg/define/image/v1/sealer_image.go:86-104); applications
    # is an empty slice in buildImageExtensionOnResult (build.go:427-450), dropped by omitempty
    assert list(ext) == ["buildClient", "schemaVersion", "type", "launch"]
    assert ext["buildClient"] == {"sealerVersion": "v0.9.3", "buildahVersion": "1.27.1"}
    images = json.loads(ann["sealer.image.container.images"])
    jsonschema.validate(images, CONTAINER_IMAGES)
    assert images == [{"image": "docker.io/library/busybox:1.36", "platform": {"architecture": "amd64", "os": "linux"}}]
    assert img.images[0].config["config"]["Labels"]["io.sealer.version"] == "v0.9.3"


def test_v093_app_configs_are_accepted_by_the_schema() -> None:
    ext = {"buildClient": {"sealerVersion": "v0.9.3", "buildahVersion": "1.27.1"}, "schemaVersion": "v1alpha1",
           "type": "app-installer",
           "applications": [{"name": "nginx", "type": "kube", "files": ["nginx.yaml"]}],
           "launch": {"app_names": ["nginx"], "appConfigs": [{"name": "nginx", "launch": {"cmds": ["kubectl get po"]}}]}}
    jsonschema.validate(ext, IMAGE_EXTENSION)
    ext["launch"]["appConfigs"][0]["launch"] = {"cmd": ["x"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(ext, IMAGE_EXTENSION)


def test_our_extension_writer_uses_go_declaration_order() -> None:
    """json.Marshal writes ImageExtension's fields in declaration order: buildClient, schemaVersion, type,
    applications, labels, env, launch (sealerio/sealer@f4f89c58:pkg/define/image/v1/sealer_image.go:86-109) —
    not v1ImageExtension's order (labels before applications, env last, lines 124-139), which only unmarshals."""
    from sealer.interop.extension import ImageExtension

    ext = ImageExtension(sealer_version="v0.9.3", buildah_version="1.27.1", type="app-installer",
                         applications=({"name": "a", "type": "kube", "files": ["a.yaml"]},),
                         labels={"k": "v"}, env={"E": "1"}, app_names=("a",))
    assert list(json.loads(ext.marshal())) == ["buildClient", "schemaVersion", "type", "applications", "labels",
                                               "env", "launch"]
