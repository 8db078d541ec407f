"""Sealer's own test data, byte for byte, fed to our readers (detect, the legacy model, the extension parser).

Every literal below is copied by a script from sealerio/sealer (not retyped, not from docs/sealer-formats.md);
``repo@commit:path:line`` names its source. Commits: HEAD = f4f89c5853aeac330c1633ef6dc73b419e819287,
v0.8.6 = 884513ea83931c7fc1c6726dd2720ed2fc40c996.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from interop.sealer_schema import CONTAINER_IMAGES, IMAGE_EXTENSION
from sealer.interop import detect
from sealer.interop.extension import ImageExtension, parse_container_images
from sealer.interop.legacy import parse_legacy
from sealer.oci.model import Manifest, ManifestError, Platform

# sealerio/sealer@f4f89c58:pkg/imageengine/buildah/inspect_test.go:42 (TestGetImageExtensionFromAnnotations)
INSPECT_EXTENSION = '{"buildClient":{"sealerVersion":"0.9.0","buildahVersion":"1.27.1"},"schemaVersion":"v1alpha1","type":"kube-installer","launch":{"cmds":["ls","-l"]}}'
# sealerio/sealer@f4f89c58:pkg/imageengine/buildah/inspect_test.go:109 (TestGetContainerImagesFromAnnotations)
INSPECT_CONTAINER_IMAGES = '[{"image":"nginx:latest","appName":"nginx"},{"image":"registry.cn-qingdao.aliyuncs.com/sealer-io/dashboard:latest","appName":"dashboard"},{"image":"busybox:latest"}]'
# sealerio/sealer@f4f89c58:pkg/define/image/v1/sealer_image_test.go:200 (TestNewImageSpec's ``want``)
IMAGE_SPEC_WANT = '{"id":"783d1c3814b9cb28dafd7c3ca34b734d5798a61dc523c0d30349636e7cd56cc6","name":"cloud-image-registry.cn-shanghai.cr.aliyuncs.com/applications/1137465199671599:cnstack-acos-0.0.5-beta-07b8866-70f202","digest":"sha256:ebdd1badbb67f0f3de27317252618759db11782928bd206e9b155d5cc81f2076","manifestv1":{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:783d1c3814b9cb28dafd7c3ca34b734d5798a61dc523c0d30349636e7cd56cc6","size":1288,"platform":{"architecture":"","os":""}},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:4e36d2017e0a3b3e6642471bbcefc8290fc92a173bd3a5e70d9285fe4af6cb51","size":3077,"platform":{"architecture":"","os":""}},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:4086b218e01c8713ed47e93f8fd24c2e714a609ff3b5268c91231dd5590e58e4","size":288,"platform":{"architecture":"","os":""}}],"annotations":{"org.opencontainers.image.base.digest":"sha256:d3801a216e40f5bc517b7e8aa1da41c31127f819f38a49356ffbd23a3d476017","sealer.image.extension":"{\\\\\\"type\\\\\\":\\\\\\"app-installer\\\\\\",\\\\\\"applications\\\\\\":[{\\\\\\"name\\\\\\":\\\\\\"cnstack-acos-0.0.5-beta\\\\\\",\\\\\\"type\\\\\\":\\\\\\"shell\\\\\\",\\\\\\"launchfiles\\\\\\":[\\\\\\"cnstack-acos-0.0.5-beta-install.sh\\\\\\"],\\\\\\"version\\\\\\":\\\\\\"v1\\\\\\"}],\\\\\\"launch\\\\\\":{\\\\\\"cmds\\\\\\":[\\\\\\"bash application/apps/cnstack-acos-0.0.5-beta/cnstack-acos-0.0.5-beta-install.sh\\\\\\"]}}"}},"ociv1":{"created":"2022-12-14T13:02:50.93707+08:00","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Labels":{"io.buildah.version":"1.27.1","io.sealer.version":"0.9"}},"rootfs":{"type":"layers","diff_ids":["sha256:aa735d9c504ee5a122bb323c0147a1ad317bd0e72b5eef1094025e793f6f4912","sha256:7c5cf4cbab5b83e603116d3b3f84287df4f8e70c3c35e3cd6d384b451bb8c26d","sha256:e0af0977fcb45ba29be4ef74ec1dcdbb625e01b78905bb089b8cc6b0ffc717ba"]},"history":[{"created":"2022-12-14T13:02:50.93707+08:00","created_by":"/bin/sh -c #(nop) COPY dir:2127a0f14734aff8fb3128a35824dcbb01dd2d0f8295e55e3ea0ab299daef971 in applications "},{"created":"2022-12-14T13:02:50.93707+08:00","created_by":"/bin/sh -c #(nop) COPY file:b48c5033638953a52b8c36a41734d2e862787520a3b372e4ef1161d491c7221f in application/apps/cnstack-acos-0.0.5-beta/ ","comment":"FROM c6dfe3236bb0"},{"created":"2022-12-14T13:02:50.93707+08:00","created_by":"/bin/sh -c #(nop) LABEL \\"io.sealer.version\\"=\\"0.9\\"","comment":"FROM 4a18afda8bf5","empty_layer":true},{"created":"2022-12-14T13:02:50.937071+08:00","created_by":"/bin/sh","comment":"FROM cloud-image-registry.cn-shanghai.cr.aliyuncs.com/applications/1137465199671599:cnstack-acos-0.0.5-beta-07b8866-70f202170cbcb3"}]},"buildClient":{"sealerVersion":"0.9","buildahVersion":"0.0.1"},"schemaVersion":"0.1","type":"app-image","applications":[{"name":"app1","type":"shell","launchfiles":["cnstack-acos-0.0.5-beta-install.sh"],"version":"v1"},{"name":"app2","type":"helm","launchfiles":["chart.tgz"],"version":"v1"},{"name":"app3","type":"kube","launchfiles":["mysql.yaml"],"version":"v1"}],"launch":{"app_names":["app1","app2"]}}'
# sealerio/sealer@884513ea:docs/design/mutil_arch_build.md:71-112 and 120-162: the stored v0.8 Image objects
# (YAML of v1.Image) of a two-platform build, sealer's own example.
V08_AMD64_IMAGE_YAML = 'kind: Image\nmetadata:\n  annotations:\n    sea.aliyun.com/ClusterFile: |\n      apiVersion: sealer.cloud/v2\n      kind: Cluster\n      metadata:\n        creationTimestamp: null\n        name: my-cluster\n      spec:\n        image: kubernetes-multi-arch:v1.19.8\n        ssh:\n          port: "22"\n          user: root\n      status: {}\n  creationTimestamp: null\n  name: kubernetes-multi-arch:v1.19.8\nspec:\n  id: 52c3b10849c852649e66c2f7ed531f05bd97586ab61fa2cc82b4e79d80484b82\n  image_config:\n    cmd:\n      current:\n        - helm install my-mysql bitnami/mysql --version 8.8.26\n        - kubectl apply -f manifests/dashborad.yaml\n  layers:\n    - id: sha256:ba2221cfa297f483e195fd61b30651f2426303965f8f1dc69cf5d4eff635af9a\n      type: COPY\n      value: . .\n    - id: sha256:e00f3ade42dc8cebffa2314b8bee4ee5472c5a915c2ba3687a588d47657b3d6a\n      type: COPY\n      value: dashborad.yaml manifests\n    - id: sha256:5cd1d3347ba4d9a0edea555da8489633f73a42266e33cc8c55245b8791c6ff72\n      type: COPY\n      value: my-mysql charts\n    - id: sha256:4f782a7c667b104f59140aa7836af9138836eef971764a426c309df4f9334ac6\n      type: BASE ## only amd64 docker images\n      value: rootfs cache\n  platform:\n    architecture: amd64\n    os: linux\n  sealer_version: latest\nstatus: { }\n'
V08_ARM64_IMAGE_YAML = 'kind: Image\nmetadata:\n  annotations:\n    sea.aliyun.com/ClusterFile: |\n      apiVersion: sealer.cloud/v2\n      kind: Cluster\n      metadata:\n        creationTimestamp: null\n        name: my-cluster\n      spec:\n        image: kubernetes-multi-arch:v1.19.8\n        ssh:\n          port: "22"\n          user: root\n      status: {}\n  creationTimestamp: null\n  name: kubernetes-multi-arch:v1.19.8\nspec:\n  id: 9e596d0a54177f29093236f65a9c6098590c67ea8b0dde4e09a5a49124cec7d0\n  image_config:\n    cmd:\n      current:\n        - helm install my-mysql bitnami/mysql --version 8.8.26\n        - kubectl apply -f manifests/dashborad.yaml\n  layers:\n    - id: sha256:ba2221cfa297f483e195fd61b30651f2426303965f8f1dc69cf5d4eff635af9a\n      type: COPY\n      value: . .\n    - id: sha256:e00f3ade42dc8cebffa2314b8bee4ee5472c5a915c2ba3687a588d47657b3d6a\n      type: COPY\n      value: dashborad.yaml manifests\n    - id: sha256:5cd1d3347ba4d9a0edea555da8489633f73a42266e33cc8c55245b8791c6ff72\n      type: COPY\n      value: my-mysql charts\n    - id: sha256:11c980114032d5f583c3861f1077bcc2f6d4e0e38b15219205fe22de044fd3a5\n      type: BASE ## only save arm64 v8 docker images\n      value: rootfs cache\n  platform:\n    architecture: arm64\n    os: linux\n    variant: v8\n  sealer_version: latest\nstatus: { }\n'


def _schema2(n_layers: int) -> Manifest:
    """A docker schema 2 manifest with ``n_layers`` layers (digests are placeholders; detect reads no blob)."""
    def desc(i: int) -> dict[str, Any]:
        return {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                "digest": "sha256:" + f"{i:064x}"}
    return Manifest.parse(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                   "digest": "sha256:" + "f" * 64},
        "layers": [desc(i) for i in range(n_layers)]}).encode())


# ---- v0.9+: sealer.image.extension / sealer.image.container.images ------------------------------------------
def test_inspect_test_extension_annotation() -> None:
    ext = ImageExtension.parse(INSPECT_EXTENSION)
    assert (ext.sealer_version, ext.buildah_version, ext.schema_version, ext.type) == (
        "0.9.0", "1.27.1", "v1alpha1", "kube-installer")
    assert ext.cmds == ("ls", "-l") and ext.app_names == () and ext.applications == ()
    # sealer's test checks json.Marshal(got) == json.Marshal(want): Go writes these very bytes back.
    assert ext.marshal() == INSPECT_EXTENSION
    jsonschema.validate(json.loads(INSPECT_EXTENSION), IMAGE_EXTENSION)


def test_inspect_test_extension_through_detect() -> None:
    m = Manifest.parse(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": "sha256:" + "a" * 64},
        "layers": [], "annotations": {"sealer.image.extension": INSPECT_EXTENSION,
                                      "sealer.image.container.images": INSPECT_CONTAINER_IMAGES}}).encode())
    info = detect(m, {"architecture": "amd64", "os": "linux"})
    assert info.format == "sealer-v0.9"
    assert info.cmds == ["ls", "-l"] and info.sealer_version == "0.9.0" and info.image_type == "kube-installer"
    assert info.container_images == ["nginx:latest", "registry.cn-qingdao.aliyuncs.com/sealer-io/dashboard:latest",
                                     "busybox:latest"]


def test_inspect_test_container_images() -> None:
    got = parse_container_images(INSPECT_CONTAINER_IMAGES)
    assert [(c.image, c.app_name, c.platform) for c in got] == [
        ("nginx:latest", "nginx", None),
        ("registry.cn-qingdao.aliyuncs.com/sealer-io/dashboard:latest", "dashboard", None),
        ("busybox:latest", "", None)]
    # inspect_test.go:90 and :99: no annotation and an empty one both mean "no list" (want nil, no error)
    assert parse_container_images("") == []
    # hand-written there without "platform"; what sealer's json.Marshal writes always has it (null or an object)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(INSPECT_CONTAINER_IMAGES), CONTAINER_IMAGES)


def test_image_spec_want_manifest_and_config() -> None:
    want = json.loads(IMAGE_SPEC_WANT)
    manifest_raw = json.dumps(want["manifestv1"]).encode()
    # The annotation in that test is escaped twice (``{\"type\":...``): not JSON. sealer's own reader
    # (json.Unmarshal in getImageExtensionFromAnnotations) fails on it, and so do we, with a reason.
    with pytest.raises(ManifestError, match="sealer.image.extension"):
        detect(Manifest.parse(manifest_raw), want["ociv1"])
    # one level of escaping undone, it is an app-installer extension with one shell application
    ext = ImageExtension.parse(want["manifestv1"]["annotations"]["sealer.image.extension"].replace('\\"', '"'))
    assert ext.type == "app-installer"
    assert [a["name"] for a in ext.applications] == ["cnstack-acos-0.0.5-beta"]
    assert ext.applications[0]["type"] == "shell"
    assert ext.cmds == ("bash application/apps/cnstack-acos-0.0.5-beta/cnstack-acos-0.0.5-beta-install.sh",)
    # the config alone (labels io.sealer.version / io.buildah.version from buildah) is a sealer v0.9 image
    no_ext = {**want["manifestv1"], "annotations": {
        "org.opencontainers.image.base.digest": want["manifestv1"]["annotations"]["org.opencontainers.image.base.digest"]}}
    info = detect(Manifest.parse(json.dumps(no_ext).encode()), want["ociv1"])
    assert info.format == "sealer-v0.9" and info.sealer_version == "0.9"
    assert info.platform == Platform.parse("linux/amd64")
    assert info.labels == {"io.buildah.version": "1.27.1", "io.sealer.version": "0.9"}
    # three non-empty history entries against two manifest layers: no kinds are guessed
    assert info.layer_kinds == ["", ""]


def test_image_spec_want_extension_fields() -> None:
    want = json.loads(IMAGE_SPEC_WANT)
    start = IMAGE_SPEC_WANT.index(',"buildClient"')
    ext_text = "{" + IMAGE_SPEC_WANT[start + 1:]
    ext = ImageExtension.parse(ext_text)
    assert (ext.sealer_version, ext.buildah_version, ext.schema_version, ext.type) == ("0.9", "0.0.1", "0.1",
                                                                                      "app-image")
    assert [a["name"] for a in ext.applications] == ["app1", "app2", "app3"]
    assert [a["type"] for a in ext.applications] == ["shell", "helm", "kube"]
    assert ext.app_names == ("app1", "app2") and ext.cmds == ()
    assert ext.applications[0]["launchfiles"] == ["cnstack-acos-0.0.5-beta-install.sh"] == want["applications"][0][
        "launchfiles"]
    # ImageExtension's field order (buildClient, schemaVersion, type, applications, labels, env, launch) is
    # what we write: the same bytes come back.
    assert ext.marshal() == ext_text


# ---- v0.5-v0.8: the Image object -----------------------------------------------------------------------------
@pytest.mark.parametrize(("doc", "platform", "base_layer"), [
    (V08_AMD64_IMAGE_YAML, "linux/amd64", "sha256:4f782a7c667b104f59140aa7836af9138836eef971764a426c309df4f9334ac6"),
    (V08_ARM64_IMAGE_YAML, "linux/arm64/v8",
     "sha256:11c980114032d5f583c3861f1077bcc2f6d4e0e38b15219205fe22de044fd3a5"),
])
def test_v08_design_doc_image(doc: str, platform: str, base_layer: str) -> None:
    config = yaml.safe_load(doc)   # sigs.k8s.io/yaml: the same object as the JSON config blob
    img = parse_legacy(config)
    assert img.name == "kubernetes-multi-arch:v1.19.8"
    assert img.sealer_version == "latest"
    assert img.platform is not None
    assert "/".join(x for x in (img.platform.os, img.platform.architecture, img.platform.variant) if x) == platform
    assert [x.kind for x in img.layers] == ["COPY . .", "COPY dashborad.yaml manifests", "COPY my-mysql charts",
                                            "BASE rootfs cache"]
    assert img.layers[0].id == "sha256:ba2221cfa297f483e195fd61b30651f2426303965f8f1dc69cf5d4eff635af9a"
    assert img.layers[-1].id == base_layer
    assert len(img.content_layers) == 4
    assert img.cmds == ["helm install my-mysql bitnami/mysql --version 8.8.26",
                        "kubectl apply -f manifests/dashborad.yaml"]
    assert img.clusterfile is not None and "image: kubernetes-multi-arch:v1.19.8" in img.clusterfile
    assert yaml.safe_load(img.clusterfile)["spec"]["ssh"] == {"port": "22", "user": "root"}

    info = detect(_schema2(4), config)
    assert info.format == "sealer-v0.8" and info.cmds == img.cmds
    assert info.layer_kinds[-1] == "BASE rootfs cache"
    with pytest.raises(ManifestError, match="4 layers with content but the manifest has 3"):
        detect(_schema2(3), config)
