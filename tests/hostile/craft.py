"""Put hand-made (hostile) images straight into a store: a config with any labels/fields, one tiny layer."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store


def tiny_layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello\n"
        ti = tarfile.TarInfo("etc/hello.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def escaping_layer() -> bytes:
    """A good file first, then a symlink out of the rootfs and a file through it (extraction must refuse)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 3
        tf.addfile(ok, io.BytesIO(b"ok\n"))
        link = tarfile.TarInfo("esc")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../../../../tmp"
        tf.addfile(link)
        pwn = tarfile.TarInfo("esc/pwn")
        pwn.size = 1
        tf.addfile(pwn, io.BytesIO(b"x"))
    return buf.getvalue()


def put_image(root: Path, name: str, config: dict[str, Any] | None = None, labels: dict[str, str] | None = None,
              history: list[dict[str, Any]] | None = None, layer: bytes | None = None) -> Descriptor:
    store = Store(root)
    layer = tiny_layer() if layer is None else layer
    ld = store.put_bytes(layer)
    cfg: dict[str, Any] = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                           "config": {"Labels": dict(labels or {})},
                           "rootfs": {"type": "layers", "diff_ids": [str(ld)]},
                           "history": history or [{"created_by": "COPY hello.txt etc/"}]}
    cfg.update(config or {})
    raw_cfg = json.dumps(cfg).encode()
    cd = store.put_bytes(raw_cfg)
    man = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
           "config": {"mediaType": mt.OCI_CONFIG, "digest": str(cd), "size": len(raw_cfg)},
           "layers": [{"mediaType": mt.OCI_LAYER, "digest": str(ld), "size": len(layer)}]}
    raw_man = json.dumps(man).encode()
    md = store.put_bytes(raw_man)
    desc = Descriptor(mt.OCI_MANIFEST, md, len(raw_man))
    store.set_ref(name, desc)
    return desc
