"""Edge cases of the sealer v0.5-v0.8 Image object and of Go-compatible JSON."""

from __future__ import annotations

import pytest

from sealer.interop import gojson, parse_legacy
from sealer.oci.model import ManifestError, Platform


def test_go_marshal_escapes_like_go() -> None:
    assert gojson.marshal({"b": "<a&b>\u2028\u2029é\n\t\"\\"}) == \
        '{"b":"\\u003ca\\u0026b\\u003e\\u2028\\u2029é\\n\\t\\"\\\\"}'
    assert gojson.sorted_map({"b": 1, "B": 2, "a": 3}) == {"B": 2, "a": 3, "b": 1}   # byte order, as Go


def test_old_flat_args_and_image_type() -> None:
    img = parse_legacy({"kind": "Image", "spec": {
        "layers": [{"id": "sha256:" + "1" * 64, "type": "copy", "value": ". ."},
                   {"type": "CMD", "value": "kubectl apply -f a.yaml"}],
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        "image_config": {"image_type": "AppImage", "args": {"Version": "v1"}, "labels": {"x": "y"}}}})
    assert img.args == {"Version": "v1"} and img.image_type == "AppImage" and img.labels == {"x": "y"}
    assert [x.kind for x in img.content_layers] == ["COPY . ."]          # type upper-cased
    assert img.cmds == ["kubectl apply -f a.yaml"]
    assert img.platform is not None and img.platform.matches(Platform("linux", "arm64"))
    assert img.clusterfile is None and img.name is None


def test_parent_current_args_merge() -> None:
    img = parse_legacy({"kind": "Image", "spec": {"image_config": {
        "args": {"parent": {"a": "1", "b": "1"}, "current": {"b": "2"}},
        "cmd": {"parent": ["p"], "current": ["c"]}}}})
    assert img.args == {"a": "1", "b": "2"} and img.cmds == ["p", "c"] and img.platform is None


@pytest.mark.parametrize(("config", "msg"), [
    ({"kind": "Pod", "spec": {}}, "kind != Image"),
    ({"kind": "Image", "spec": {"layers": {}}}, "spec.layers is not a list"),
    ({"kind": "Image", "spec": {"image_config": {"cmd": {"current": "x"}}}}, "cmd.current is not a list"),
    ({"kind": "Image", "spec": {"image_config": {"cmd": []}}}, "cmd is not an object"),
])
def test_malformed_image_objects(config: dict[str, object], msg: str) -> None:
    with pytest.raises(ManifestError, match=msg):
        parse_legacy(config)
