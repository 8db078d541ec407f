"""Build sealer (Go) cluster images in both of its formats, from the documented structure, offline.

Independent of ``sealer.interop`` and of docs/sealer-formats.md: every byte here is written by hand from
sealer's Go code and its own test data (each field cites ``repo@commit:path:line``), so tests can use these
images as an oracle. tests/interop/test_sealer_testdata.py feeds sealer's own test bytes to our readers.

    img = sealer_v08_image()                 # docker manifest list -> schema2 manifests, sealer Image config
    img = sealer_v08_image(cmd_style="layers")   # v0.7: CMDs as content-less CMD layers
    img = sealer_v09_image()                 # OCI manifest with sealer.image.extension + container.images
    ref = img.push(registry, "sealer-io/kubernetes:v1.19.8")   # skopeo copy, digests preserved
    img.cached.push(registry)                # the cached image, pushed upstream too (to count re-pulls)

Each image's BASE/registry layer holds ``registry/docker/registry/v2/...`` with one cached image
(``img.cached``: ``library/busybox:1.36`` by default; more with ``also_cached=[...]``).

Every field below is taken from sealer's own code or test data, not from docs/sealer-formats.md; each is cited
as ``repo@commit:path:line`` next to where it is written. Commits (sealerio/sealer; alibaba/sealer is the same
history): v0.5.2 = 858ece99, v0.7.1 = 2a4d2012, v0.8.6 = 884513ea, v0.9.3 = a51d0ec0, HEAD = f4f89c58.

What sealer v0.8.6 (sealerio/sealer tag v0.8.6, commit 884513ea) writes, and where (file:line at that tag):
* push: one docker schema 2 manifest per platform, then a docker manifest list over them
  (pkg/image/distributionutil/push.go:48-100, putManifest 234-276, putManifestList 278-292); the config blob
  is ``json.Marshal(dockerManifestConfig{v1.Image, architecture, os, history})`` (push.go:294-328), ``v1.Image``
  as in types/api/v1/image_types.go:25-103 (Layer{id,type,value}, ImageSpec{id, layers, sealer_version,
  platform, image_config{image_type, cmd{parent,current}, args{parent,current}, labels}}); layers are the layer
  directory tarred then gzip'd (push.go:190-231).
* the "rootfs cache" BASE layer: after every instruction the build runs its differs over the overlay mount
  (build/buildimage/executor.go:98-102, 139-163): the registry differ pulls every image found in manifests/,
  charts/ and manifests/imageList into ``rootfs/registry`` (build/buildimage/differ.go:55-77); then the mount's
  upper directory becomes one more layer ``{type: BASE, value: "rootfs cache"}`` (executor.go:104-111;
  common/common.go:35-36 ``BaseImageLayerType = "BASE"``, ``RootfsLayerValue = "rootfs cache"``; v0.5.2 named it
  ``RegistryLayerValue = "registry cache"``). A file deleted in the upper directory is an overlay whiteout,
  written to the layer tar as ``.wh.NAME`` / ``.wh..wh..opq`` (utils/archive/compress.go:140-180).
* how that registry cache stores a multi-arch image: a pull-through proxy over distribution's storage
  (pkg/image/save/save.go:371-447). The tag is resolved remotely and linked locally
  (proxy/proxytagservice.go:35-53, save.go:214); the manifest list is fetched and stored as it is
  (proxy/proxymanifeststore.go:54-98) with ``SkipLayerVerification`` (proxy/proxyregistry.go:131), so its
  children need not be present; only the child matching the build platform is picked
  (save.go:233-263, distributionutil/imagemanifest.go:43-67), fetched (stored with its revision link) and only
  that child's config and layers are saved, each with a ``_layers`` link (save.go:265-369). The registry/ of a
  v0.8 image thus holds manifest lists whose other platforms' manifests are absent: ``cached_index_image``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.registry_images import (  # the test suite's own media-type names, independent of src/
    DOCKER_CONFIG,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)
from helpers.registry_images import DOCKER_LAYER as DOCKER_LAYER_GZIP

# sea.aliyun.com/ClusterFile (sealerio/sealer@884513ea:common/common.go:51): sigs.k8s.io/yaml.Marshal of a
# v2.Cluster{Kind: "Cluster", APIVersion: "sealer.cloud/v2" (common/common.go:67-68), Name: "my-cluster",
# Spec.SSH{Port: "22", User: "root"}, Spec.Image: the image's name} (build/buildimage/setter.go:32-52,
# build/buildimage/utils.go:59-70); these exact bytes are sealer's own example in
# sealerio/sealer@884513ea:docs/design/mutil_arch_build.md:74-85.
CLUSTERFILE_TEMPLATE = """apiVersion: sealer.cloud/v2
kind: Cluster
metadata:
  creationTimestamp: null
  name: my-cluster
spec:
  image: {image}
  ssh:
    port: "22"
    user: root
status: {{}}
"""

FAKE_BIN = b"#!/bin/sh\necho \"fake $(basename $0) $*\"\n"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_json(obj: Any) -> bytes:
    """Compact JSON with Go's HTML escaping (what json.Marshal writes)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


# ---- layers -----------------------------------------------------------------------------------------
Files = Mapping[str, "bytes | tuple[bytes, int]"]   # path -> content, or (content, mode)


def tar_bytes(files: Files) -> bytes:
    """A deterministic tar with parent directories, sorted, owner 0, mtime 0."""
    buf = io.BytesIO()
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(dirs | set(files)):
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if name in files:
                v = files[name]
                data, mode = v if isinstance(v, tuple) else (v, 0o644)
                ti.size, ti.mode = len(data), mode
                tf.addfile(ti, io.BytesIO(data))
            else:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
    return buf.getvalue()


@dataclass
class Layer:
    kind: str               # "COPY . .", "BASE registry cache", ...
    files: dict[str, Any]
    media_type: str
    data: bytes = b""       # gzip blob
    diff_id: str = ""

    def __post_init__(self) -> None:
        raw = tar_bytes(self.files)
        self.diff_id = sha(raw)
        self.data = gzip.compress(raw, compresslevel=1, mtime=0)

    @property
    def digest(self) -> str:
        return sha(self.data)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "size": len(self.data), "digest": self.digest}


# ---- the cached container image (what registry/ holds) ------------------------------------------------
@dataclass
class CachedImage:
    repository: str          # path in the registry, e.g. library/busybox
    tag: str
    manifest_raw: bytes
    blobs: dict[str, bytes]  # config + layers, by digest (of the children kept, for an index)
    children: dict[str, bytes] = field(default_factory=dict)   # index children kept in registry/, by digest
    upstream: dict[str, bytes] = field(default_factory=dict)   # every child manifest and blob (to push)
    platforms: list[str] = field(default_factory=list)         # platforms registry/ serves (kept children)

    @property
    def manifest_digest(self) -> str:
        return sha(self.manifest_raw)

    def reference(self, host: str) -> str:
        return f"{host}/{self.repository}:{self.tag}"

    def blob_path(self, digest: str) -> str:
        return f"registry/docker/registry/v2/blobs/sha256/{digest[7:9]}/{digest[7:]}/data"

    def registry_files(self, drop: Iterable[str] = ()) -> dict[str, bytes]:
        """The docker-distribution tree of this image, as paths under the rootfs (as distribution's storage
        writes it: blob data, ``_layers`` links for config and layers, revision links for every manifest).
        ``drop``: blob digests whose data file is left out (a damaged cache)."""
        v2 = "registry/docker/registry/v2"
        repo = f"{v2}/repositories/{self.repository}"
        out: dict[str, bytes] = {}
        md = self.manifest_digest
        for d, data in [*self.blobs.items(), *self.children.items(), (md, self.manifest_raw)]:
            if d not in set(drop):
                out[self.blob_path(d)] = data
        for d in self.blobs:
            out[f"{repo}/_layers/sha256/{d[7:]}/link"] = d.encode()
        for d in [*self.children, md]:
            out[f"{repo}/_manifests/revisions/sha256/{d[7:]}/link"] = d.encode()
        out[f"{repo}/_manifests/tags/{self.tag}/current/link"] = md.encode()
        out[f"{repo}/_manifests/tags/{self.tag}/index/sha256/{md[7:]}/link"] = md.encode()
        return out

    def write_oci_layout(self, layout: Path) -> str:
        blobs = layout / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        for d, data in [*self.blobs.items(), (self.manifest_digest, self.manifest_raw)]:
            (blobs / d[7:]).write_bytes(data)
        (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": self.manifest_digest, "size": len(self.manifest_raw),
             "annotations": {"org.opencontainers.image.ref.name": self.tag}}]}
        (layout / "index.json").write_text(json.dumps(index))
        return f"oci:{layout}:{self.tag}"

    def push(self, reg: Any, name: str | None = None) -> str:
        """Push to ``reg`` (a helpers.registry.Registry) with skopeo, digests preserved (an index with every
        child: the upstream image is whole, only the cache keeps one child)."""
        name = name or f"{self.repository}:{self.tag}"
        with tempfile.TemporaryDirectory() as td:
            if self.upstream:
                d = Path(td) / "dir"
                d.mkdir()
                (d / "version").write_text("Directory Transport Version: 1.1\n")
                for dg, data in self.upstream.items():
                    is_manifest = data[:1] == b"{" and b'"schemaVersion"' in data[:4096]
                    (d / (f"{dg[7:]}.manifest.json" if is_manifest else dg[7:])).write_bytes(data)
                (d / "manifest.json").write_bytes(self.manifest_raw)
                src, extra = f"dir:{d}", ["--all"]
            else:
                src, extra = self.write_oci_layout(Path(td) / "layout"), []
            _skopeo("copy", "--quiet", "--preserve-digests", *extra, *reg.skopeo_args("dest"), src,
                    f"docker://{reg.ref(name)}")
        return str(reg.ref(name))


def cached_image(repository: str = "library/busybox", tag: str = "1.36", *, arch: str = "amd64",
                 payload: bytes | None = None) -> CachedImage:
    """A tiny OCI image: one gzip layer holding ``bin/hello``."""
    layer = Layer("", {"bin/hello": (payload or f"hello from {repository}:{tag} {arch}\n".encode(), 0o755)},
                  OCI_LAYER_GZIP)
    config = go_json({"created": "2023-01-01T00:00:00Z", "architecture": arch, "os": "linux",
                      "config": {"Cmd": ["/bin/hello"]},
                      "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}})
    manifest = go_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
                        "layers": [layer.descriptor()]})
    return CachedImage(repository, tag, manifest, {sha(config): config, layer.digest: layer.data},
                       platforms=[f"linux/{arch}"])


def cached_index_image(repository: str = "library/busybox", tag: str = "1.36", *,
                       platforms: Iterable[str] = ("linux/amd64", "linux/arm64"),
                       keep: Iterable[str] = ("linux/amd64",)) -> CachedImage:
    """A multi-arch Docker Hub style image (docker manifest list over schema 2 manifests) as sealer v0.8's
    registry cache stores it: the whole list, but only the ``keep`` platforms' manifests, configs and layers
    (save.go:233-263 picks one child; see the module docstring)."""
    kept = set(keep)
    entries, blobs, children, upstream = [], {}, {}, {}
    for plat in platforms:
        arch = plat.split("/")[1]
        layer = Layer("", {"bin/hello": (f"hello from {repository}:{tag} {arch}\n".encode(), 0o755)},
                      DOCKER_LAYER_GZIP)
        config = go_json({"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/hello"]},
                          "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}})
        manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                               "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": sha(config)},
                               "layers": [layer.descriptor()]}, indent=3).encode()
        entries.append({"mediaType": DOCKER_MANIFEST, "size": len(manifest), "digest": sha(manifest),
                        "platform": {"architecture": arch, "os": "linux"}})
        upstream.update({sha(manifest): manifest, sha(config): config, layer.digest: layer.data})
        if plat in kept:
            children[sha(manifest)] = manifest
            blobs.update({sha(config): config, layer.digest: layer.data})
    top = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": entries}, indent=3).encode()
    return CachedImage(repository, tag, top, blobs, children, upstream, [p for p in platforms if p in kept])


# ---- sealer images -------------------------------------------------------------------------------------
@dataclass
class PlatformImage:
    platform: str                 # linux/amd64
    manifest_raw: bytes
    config_raw: bytes
    layers: list[Layer]

    @property
    def digest(self) -> str:
        return sha(self.manifest_raw)

    @property
    def config(self) -> dict[str, Any]:
        return dict(json.loads(self.config_raw))

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.manifest_raw))

    def rootfs_files(self) -> dict[str, bytes]:
        """Every regular file of the unpacked rootfs (later layers win)."""
        out: dict[str, bytes] = {}
        for layer in self.layers:
            for path, v in layer.files.items():
                out[path] = v[0] if isinstance(v, tuple) else v
        return out


@dataclass
class SealerImage:
    format: str                          # "sealer-v0.8" | "sealer-v0.9"
    top_media_type: str
    top_raw: bytes                       # manifest list (v0.8) or manifest (v0.9)
    images: list[PlatformImage]
    cached: CachedImage
    cmds: list[str]                      # in the order sealer runs them
    kube_version: str
    clusterfile: str | None
    container_images: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return sha(self.top_raw)

    def for_platform(self, platform: str = "linux/amd64") -> PlatformImage:
        for i in self.images:
            if i.platform == platform:
                return i
        raise KeyError(platform)

    def write_dir(self, d: Path) -> str:
        """skopeo's ``dir:`` transport layout (it reads docker media types, which ``oci:`` does not)."""
        d.mkdir(parents=True, exist_ok=True)
        (d / "version").write_text("Directory Transport Version: 1.1\n")
        for img in self.images:
            (d / sha(img.config_raw)[7:]).write_bytes(img.config_raw)
            for layer in img.layers:
                (d / layer.digest[7:]).write_bytes(layer.data)
            if self.top_media_type in (DOCKER_LIST, OCI_INDEX):
                (d / f"{img.digest[7:]}.manifest.json").write_bytes(img.manifest_raw)
        (d / "manifest.json").write_bytes(self.top_raw)
        return f"dir:{d}"

    def push(self, reg: Any, name: str) -> str:
        """Push with skopeo (``--all --preserve-digests``): the registry serves these exact bytes."""
        with tempfile.TemporaryDirectory() as td:
            src = self.write_dir(Path(td) / "img")
            _skopeo("copy", "--quiet", "--all", "--preserve-digests", *reg.skopeo_args("dest"), src,
                    f"docker://{reg.ref(name)}")
        return str(reg.ref(name))


def _skopeo(*args: str) -> None:
    with tempfile.TemporaryDirectory() as td:
        env = {**os.environ, "REGISTRY_AUTH_FILE": os.path.join(td, "auth.json"), "XDG_RUNTIME_DIR": td}
        p = subprocess.run(["skopeo", *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)} failed: {p.stderr.strip()}")


def _list_platform(plat: str) -> dict[str, str]:
    parts = plat.split("/")
    out = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    return out


def _base_rootfs(kube_version: str, arch: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    files: dict[str, Any] = {
        "Metadata": json.dumps({"version": kube_version, "arch": arch}).encode(),
        "Kubefile": b"FROM scratch\nCOPY . .\n",
        "bin/kubeadm": (FAKE_BIN, 0o755),
        "bin/kubelet": (FAKE_BIN, 0o755),
        "bin/kubectl": (FAKE_BIN, 0o755),
        "scripts/init.sh": (b"#!/bin/bash\necho init\n", 0o755),
        "etc/kubeadm.yml": f"kubernetesVersion: {kube_version}\n".encode(),
    }
    files.update(extra or {})
    return files


def sealer_v08_image(*, name: str = "registry.cn-qingdao.aliyuncs.com/sealer-io/kubernetes:v1.19.8",
                     kube_version: str = "v1.19.8", platforms: Iterable[str] = ("linux/amd64", "linux/arm64"),
                     cmd_style: str = "config", cached: CachedImage | None = None,
                     sealer_version: str = "v0.8.6", also_cached: Iterable[CachedImage] = (),
                     drop_blobs: Iterable[str] = (), upper_files: Mapping[str, Any] | None = None) -> SealerImage:
    """A sealer v0.8 (``cmd_style="config"``) or v0.7 (``"layers"``) cluster image under a manifest list.

    Layers: ``COPY . .`` (rootfs: Metadata, bin/kube*, scripts, etc), ``RUN`` (etc/run-marker.txt),
    ``COPY dashboard.yaml manifests`` and ``BASE rootfs cache`` (``registry cache`` for v0.5) holding registry/
    with ``cached`` and ``also_cached`` (minus the blob data of ``drop_blobs``). ``upper_files`` adds one more
    ``BASE rootfs cache`` layer on top (what a later build's upper directory holds, whiteouts included).
    """
    cached = cached or cached_image()
    # layer value: RegistryLayerValue = "registry cache" (sealerio/sealer@858ece99:common/common.go:30), from v0.7
    # RootfsLayerValue = "rootfs cache" (2a4d2012:common/common.go:36, 884513ea:common/common.go:35-36).
    base_value = "registry cache" if sealer_version.startswith("v0.5") else "rootfs cache"
    registry_files: dict[str, Any] = {}
    for c in (cached, *also_cached):
        registry_files.update(c.registry_files(drop_blobs))
    parent = ["kubectl apply -f etc/tigera-operator.yaml"]
    current = ["kubectl apply -f manifests/dashboard.yaml", "echo done && date > /tmp/x"]
    clusterfile = CLUSTERFILE_TEMPLATE.format(image=name)
    images: list[PlatformImage] = []
    for plat in platforms:
        arch = plat.split("/")[1]
        variant = plat.split("/")[2] if plat.count("/") == 2 else ""
        layers = [
            Layer("COPY . .", _base_rootfs(kube_version, arch), DOCKER_LAYER_GZIP),
            Layer("RUN echo built > etc/run-marker.txt", {"etc/run-marker.txt": b"built\n"}, DOCKER_LAYER_GZIP),
            Layer("COPY dashboard.yaml manifests",
                  {"manifests/dashboard.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dash}\n"},
                  DOCKER_LAYER_GZIP),
            Layer(f"BASE {base_value}", registry_files, DOCKER_LAYER_GZIP),
        ]
        if upper_files:
            layers.append(Layer(f"BASE {base_value}", dict(upper_files), DOCKER_LAYER_GZIP))
        # spec.layers: v1.Layer{ID `json:"id,omitempty"`, Type `json:"type,omitempty"`, Value
        # `json:"value,omitempty"`} (sealerio/sealer@884513ea:types/api/v1/image_types.go:25-29); ID is the sha256
        # of the layer directory's tar, i.e. the diff id (pkg/image/store/layer_store.go:91-101,
        # utils/archive/hash.go:29). v0.8.6 keeps only layers with content, the base's first, then the new
        # "BASE rootfs cache" layer (build/buildimage/executor.go:90-116, build/build.go:126-131); v0.7.1 keeps
        # CMD layers (no id) among the new ones, before the rootfs cache layer
        # (sealerio/sealer@2a4d2012:build/buildkit/buildimage/build_image.go:210-223).
        spec_layers: list[dict[str, str]] = []
        for layer in layers[:3]:
            typ, _, value = layer.kind.partition(" ")
            spec_layers.append({"id": layer.diff_id, "type": typ, "value": value})
        if cmd_style == "layers":   # v0.7: CMD instructions are layers without content
            spec_layers += [{"type": "CMD", "value": c} for c in parent + current]
        spec_layers += [{"id": x.diff_id, "type": "BASE", "value": base_value} for x in layers[3:]]
        # spec.platform: v1.Platform, every field omitempty (884513ea:types/api/v1/image_types.go:95-103), set to
        # the build platform (build/buildimage/saver.go:42-44).
        platform: dict[str, str] = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        image_config: dict[str, Any]
        if cmd_style == "config":
            # v0.8 ImageConfig{ImageType `image_type,omitempty`, Cmd ImageCmd `cmd,omitempty`, Args ImageArg
            # `args,omitempty`, Labels `labels,omitempty`}; ImageCmd{Parent, Current []string omitempty},
            # ImageArg{Parent, Current map omitempty} (884513ea:types/api/v1/image_types.go:73-93; a struct is
            # never omitted). cmd.parent = the base's parent+current, args.parent likewise
            # (build/buildimage/executor.go:246-251); args.current = ARGs and --build-arg (build/build.go:114-118,
            # pkg/parser/parser.go:138-160).
            image_config = {"cmd": {"parent": parent, "current": current}, "args": {"current": {"Version": kube_version}}}
        else:
            # v0.7 ImageConfig{Args map[string]string `json:"args"`, Labels map[string]string `json:"labels"`}: a
            # flat map, and nil labels marshal as null (2a4d2012:types/api/v1/image_types.go:74-77).
            image_config = {"args": {"Version": kube_version}, "labels": None}
        config_obj = {
            # dockerManifestConfig{v1.Image, Architecture `architecture,omitempty`, OS `os,omitempty`, History
            # []{created `omitempty`, created_by `omitempty`, empty_layer `omitempty`}} marshalled with
            # json.Marshal (884513ea:pkg/image/distributionutil/push.go:294-328); v1.Image = TypeMeta inline +
            # ObjectMeta `metadata` + Spec `spec` + Status `status` (types/api/v1/image_types.go:55-61).
            # TypeMeta{APIVersion: "", Kind: "Image"}: no apiVersion (pkg/parser/parser.go:65-69).
            "kind": "Image",
            # metadata.name = the complete name (build/build.go:136); ObjectMeta's zero creationTimestamp is null;
            # the ClusterFile annotation (build/buildimage/setter.go:28-52; docs/design/mutil_arch_build.md:71-87).
            "metadata": {"name": name, "creationTimestamp": None,
                         "annotations": {"sea.aliyun.com/ClusterFile": clusterfile}},
            # ImageSpec{ID `id,omitempty`, Layers `layers,omitempty`, SealerVersion `sealer_version,omitempty`,
            # Platform `platform`, ImageConfig `image_config`} (884513ea:types/api/v1/image_types.go:32-42; v0.7.1
            # adds MergedLayer `mergedLayer,omitempty`, 2a4d2012:types/api/v1/image_types.go:37-42). id = hex
            # sha256 of the image's YAML (pkg/image/util.go:139-146): a 64-hex string, here of name+platform.
            "spec": {"id": hashlib.sha256(f"{name}{plat}".encode()).hexdigest(), "layers": spec_layers,
                     "sealer_version": sealer_version, "platform": platform, "image_config": image_config},
            "status": {},
            # os/architecture from spec.platform; history: created_by = type + " " + value, empty_layer when the
            # layer has no id (884513ea:pkg/image/distributionutil/push.go:343-352).
            "architecture": arch,
            "os": "linux",
            "history": [{"created_by": f"{x['type']} {x['value']}", **({} if x.get("id") else {"empty_layer": True})}
                        for x in spec_layers],
        }
        config_raw = go_json(config_obj)
        # schema2 manifest built by distribution's ManifestBuilder with schema2.MediaTypeImageConfig
        # (884513ea:pkg/image/distributionutil/push.go:234-276), layers of schema2.MediaTypeLayer
        # (pkg/image/store/layer.go:102-104), serialised with json.MarshalIndent(m, "", "   ")
        # (884513ea:vendor/github.com/distribution/distribution/v3/manifest/schema2/manifest.go:103).
        manifest_raw = json.dumps({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(config_raw), "digest": sha(config_raw)},
            "layers": [x.descriptor() for x in layers]}, indent=3).encode()
        images.append(PlatformImage(plat, manifest_raw, config_raw, layers))
    # The manifest list: manifestlist.FromDescriptors over one descriptor per platform, each with
    # PlatformSpec{architecture, os, os.version omitempty, variant omitempty} from the image's platform
    # (884513ea:pkg/image/distributionutil/push.go:82-95, utils.go:26-53;
    # vendor/github.com/distribution/distribution/v3/manifest/manifestlist/manifestlist.go:87-123, indent 184).
    top = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "size": len(i.manifest_raw), "digest": i.digest,
                       "platform": _list_platform(i.platform)} for i in images]},
        indent=3).encode()
    return SealerImage("sealer-v0.8", DOCKER_LIST, top, images, cached, parent + current, kube_version,
                       clusterfile)


# The annotation values exactly as sealer v0.9's json.Marshal wrote them (struct field order, HTML escaping).
# sealer.image.extension = json.Marshal(ImageExtension) set as a build annotation
# (sealerio/sealer@a51d0ec0:cmd/sealer/cmd/image/build.go:176-193), the ImageExtension from
# buildImageExtensionOnResult (build.go:427-450): buildClient{sealerVersion: version GitVersion, buildahVersion:
# buildah define.Version = "1.27.1" (a51d0ec0:vendor/github.com/containers/buildah/define/types.go:33)},
# schemaVersion "v1alpha1" (ImageSpecSchemaVersionV1Beta1, pkg/define/image/v1/sealer_image.go:35), type from
# --type ("kube-installer", sealer_image.go:32-33), applications: an empty slice (omitted), launch{cmds: the
# Kubefile's CMDS, app_names: LAUNCH's apps, appConfigs}. Field order and tags: ImageExtension{buildClient,
# schemaVersion, type omitempty, applications omitempty, labels omitempty, launch} (a51d0ec0:
# pkg/define/image/v1/sealer_image.go:86-120; HEAD f4f89c58 adds env omitempty before launch, lines 86-122).
# The same shape is sealer's own test data: f4f89c58:pkg/imageengine/buildah/inspect_test.go:42.
V09_COPY_HEX = tuple(hashlib.sha256(f"copy source {i}".encode()).hexdigest() for i in range(3))
V09_CMDS = ["kubectl apply -f manifests/app.yaml", "helm install app charts/app && echo ok"]


def v09_extension_json(cmds: list[str], sealer_version: str) -> str:
    return ('{"buildClient":{"sealerVersion":"' + sealer_version + '","buildahVersion":"1.27.1"},'
            '"schemaVersion":"v1alpha1","type":"kube-installer",'
            '"launch":{"cmds":[' + ",".join(go_json(c).decode() for c in cmds) + ']}}')


def sealer_v09_image(*, kube_version: str = "v1.22.15", platform: str = "linux/amd64",
                     cached: CachedImage | None = None, sealer_version: str = "v0.9.3",
                     list_images: bool = True) -> SealerImage:
    """A sealer v0.9 cluster image: one OCI manifest (buildah-built), sealer metadata in annotations.
    ``list_images=False``: no ``sealer.image.container.images`` (sealer leaves it out when its own list is
    empty, e.g. images COPY'd into registry/ rather than discovered)."""
    cached = cached or cached_image()
    arch = platform.split("/")[1]
    # buildah's history: "/bin/sh -c #(nop) COPY dir:<64 hex> in <dest> " (trailing blank), as in sealer's own test
    # data (f4f89c58:pkg/define/image/v1/sealer_image_test.go:137-141).
    layers = [
        Layer(f"COPY dir:{V09_COPY_HEX[0]} in . ", _base_rootfs(kube_version, arch), OCI_LAYER_GZIP),
        Layer(f"COPY file:{V09_COPY_HEX[1]} in manifests ",
              {"manifests/app.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n"}, OCI_LAYER_GZIP),
        Layer(f"COPY dir:{V09_COPY_HEX[2]} in registry ", cached.registry_files(), OCI_LAYER_GZIP),
    ]
    # The config is buildah's OCI image config; its shape (Env PATH, Labels io.buildah.version and
    # io.sealer.version, rootfs diff_ids, history with "/bin/sh -c #(nop) COPY dir:... in ... " and an empty LABEL
    # entry) is sealer's own test data, sealerio/sealer@f4f89c58:pkg/define/image/v1/sealer_image_test.go:102-155;
    # the label value is "io.sealer.version=" + GitVersion (a51d0ec0:cmd/sealer/cmd/image/build.go:118, 515-517).
    config_raw = go_json({
        "created": "2023-03-01T08:00:00.123456789Z", "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": {"io.buildah.version": "1.27.1", "io.sealer.version": sealer_version}},
        "rootfs": {"type": "layers", "diff_ids": [x.diff_id for x in layers]},
        "history": [
            {"created": "2023-03-01T08:00:00Z", "created_by": f"/bin/sh -c #(nop) {layers[0].kind}"},
            {"created": "2023-03-01T08:00:00Z", "created_by": f"/bin/sh -c #(nop) {layers[1].kind}",
             "comment": "FROM c6dfe3236bb0"},
            {"created": "2023-03-01T08:00:00Z",
             "created_by": f"/bin/sh -c #(nop) LABEL \"io.sealer.version\"=\"{sealer_version}\"",
             "empty_layer": True},
            {"created": "2023-03-01T08:00:00Z", "created_by": f"/bin/sh -c #(nop) {layers[2].kind}"},
        ]})
    # sealer.image.container.images: json.Marshal([]*ContainerImage), only when the list is not empty
    # (a51d0ec0:cmd/sealer/cmd/image/build.go:361-379); ContainerImage{Image `image`, AppName `appName,omitempty`,
    # Platform *v1.Platform `platform`} (pkg/define/image/v1/sealer_image.go:62-73); Image is
    # reference.ParseNormalizedNamed(...).String(), i.e. "docker.io/library/busybox:1.36" (build.go:277-288), the
    # platform the build's (os/arch, build.go:212-217).
    container_images = [f"docker.io/{cached.repository}:{cached.tag}"] if list_images else []
    # buildah sets org.opencontainers.image.base.digest to the FROM image's manifest digest, "" FROM scratch
    # (a51d0ec0:vendor/github.com/containers/buildah/new.go:182-201, 291).
    annotations = {"org.opencontainers.image.base.digest": ""}
    if container_images:
        annotations["sealer.image.container.images"] = (
            '[{"image":"' + container_images[0] + '","platform":{"architecture":"' + arch + '","os":"linux"}}]')
    annotations["sealer.image.extension"] = v09_extension_json(V09_CMDS, sealer_version)
    # OCI manifest (buildah's default format, a51d0ec0:cmd/sealer/cmd/image/build.go:386-392) with the
    # annotations above and org.opencontainers.image.base.digest (f4f89c58:pkg/define/image/v1/
    # sealer_image_test.go:52-100 shows these media types and annotation keys).
    manifest_raw = go_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha(config_raw), "size": len(config_raw)},
        "layers": [x.descriptor() for x in layers],
        "annotations": annotations})
    img = PlatformImage(platform, manifest_raw, config_raw, layers)
    return SealerImage("sealer-v0.9", OCI_MANIFEST, manifest_raw, [img], cached, list(V09_CMDS), kube_version,
                       None, container_images)
