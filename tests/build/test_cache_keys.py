"""Build cache keys and records (sealer.build.cache) checked against hashlib and the documented layout:
``STORE/cache/build/<key>.json``, key_i = sha256(key_{i-1} ‖ \\0 part ‖ \\0 part ...)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sealer.build.cache import BuildCache, chain
from sealer.digest import Digest
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store


def test_chain_is_sha256_over_nul_separated_parts() -> None:
    assert chain("", "a") == hashlib.sha256(b"\0a").hexdigest()
    assert chain("p", "COPY a .", "sha256:x") == hashlib.sha256(b"p\0COPY a .\0sha256:x").hexdigest()
    assert chain("p") == hashlib.sha256(b"p").hexdigest()
    assert chain("p", "ab") != chain("p", "a", "b")            # part boundaries count
    assert chain("p", "a", "b") != chain("p", "b", "a")        # order counts
    assert chain("p", "a") != chain("q", "a")                   # the parent counts


def _blob(store: Store, data: bytes) -> Descriptor:
    return Descriptor(mt.OCI_LAYER_GZIP, store.put_bytes(data), len(data))


def test_records_round_trip_at_the_documented_path(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    cache = BuildCache(store)
    d1, d2 = _blob(store, b"layer one"), _blob(store, b"layer two")
    diff = Digest.of_bytes(b"diff")
    key = chain("", "RUN x")
    assert cache.get(key) is None
    cache.put(key, [(d1, diff, "RUN x"), (d2, diff, "RUN x (2)")], {"cmds": ["a"]})
    record = tmp_path / "store" / "cache" / "build" / f"{key}.json"
    doc = json.loads(record.read_text())
    assert doc["extra"] == {"cmds": ["a"]} and doc["layers"][1]["created_by"] == "RUN x (2)"
    got = cache.get(key)
    assert got is not None
    assert got.layers == [(d1, diff, "RUN x"), (d2, diff, "RUN x (2)")]
    assert got.extra == {"cmds": ["a"]}
    cache.put("k2", [(d1, diff, "c")])
    again = BuildCache(store).get("k2")
    assert again is not None and again.extra == {}
    assert json.loads((record.parent / "k2.json").read_text())["extra"] == {}


def test_a_record_whose_blob_is_gone_or_damaged_is_a_miss(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    cache = BuildCache(store)
    d = _blob(store, b"will vanish")
    cache.put("gone", [(d, Digest.of_bytes(b"x"), "c")])
    store.blob_path(d.digest).unlink()
    assert cache.get("gone") is None
    for name, text in {"junk": "{not json", "nolayers": "{}", "badlayer": '{"layers": [{"descriptor": 1}]}',
                       "baddiff": json.dumps({"layers": [{"descriptor": d.to_json(), "diff_id": "nope",
                                                          "created_by": "c"}]})}.items():
        (cache.dir / f"{name}.json").write_text(text)
        assert cache.get(name) is None, name


def test_put_never_fails_the_build(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    cache = BuildCache(store)
    d = _blob(store, b"x")
    (cache.dir / "blocked.json").mkdir()          # the record path is a directory: the write fails
    cache.put("blocked", [(d, Digest.of_bytes(b"x"), "c")])
    assert cache.get("blocked") is None
