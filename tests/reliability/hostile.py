"""Hostile tar archives, a sandbox that detects escapes, and a generator of random hostile variants.

Used by ``test_archives.py`` (one named regression test per class) and by ``bench/stress.py`` (thousands of
generated variants, counted as "hostile archives tried / escapes").

An *escape* is any observable effect outside the extraction directory: a file created, changed, deleted,
re-moded or re-timed next to it; or, inside it, a device node, a hard link sharing an inode with a file
outside, or a symlink whose resolution climbs above the directory. Links are resolved with rootfs semantics
(an absolute target starts again at the root, ``bin/sh -> /bin/busybox``), which is how the extractor treats
them; it never writes through any link.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sealer.errors import SealerError
from sealer.store.fsutil import force_rmtree
from sealer.tario.extract import ExtractLimits, extract_layer

SECRET = b"SECRET-CONTENT-OUTSIDE\n"


# ---- building tars ---------------------------------------------------------------------------------
@dataclass
class TarBuilder:
    """Write arbitrary (hostile) tar entries; names and link targets are not sanitised."""

    fmt: int = tarfile.GNU_FORMAT
    _buf: io.BytesIO = field(default_factory=io.BytesIO)
    _tf: tarfile.TarFile | None = None

    def __post_init__(self) -> None:
        self._tf = tarfile.open(fileobj=self._buf, mode="w", format=self.fmt)  # noqa: SIM115 - closed in data()

    def _add(self, ti: tarfile.TarInfo, data: bytes | None = None) -> TarBuilder:
        assert self._tf is not None
        ti.mtime = 1_600_000_000
        if data is not None:
            ti.size = len(data)
            self._tf.addfile(ti, io.BytesIO(data))
        else:
            self._tf.addfile(ti)
        return self

    def file(self, name: str, data: bytes = b"PWNED\n", mode: int = 0o644) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.mode = mode
        return self._add(ti, data)

    def dir(self, name: str, mode: int = 0o755) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode = tarfile.DIRTYPE, mode
        return self._add(ti)

    def symlink(self, name: str, target: str) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, target, 0o777
        return self._add(ti)

    def hardlink(self, name: str, target: str) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname = tarfile.LNKTYPE, target
        return self._add(ti)

    def device(self, name: str, block: bool = False, major: int = 1, minor: int = 3) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.BLKTYPE if block else tarfile.CHRTYPE
        ti.devmajor, ti.devminor, ti.mode = major, minor, 0o666
        return self._add(ti)

    def fifo(self, name: str) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode = tarfile.FIFOTYPE, 0o644
        return self._add(ti)

    def data(self) -> bytes:
        assert self._tf is not None
        self._tf.close()
        self._tf = None
        return self._buf.getvalue()


# ---- the sandbox -----------------------------------------------------------------------------------
Snapshot = dict[str, tuple[int, int, int, str]]


@dataclass
class Box:
    """``top/outside/secret``, ``top/outside/sub/``, ``top/inner/secret2`` and the extraction dir
    ``top/inner/dest``. Everything but ``dest`` is watched."""

    top: Path

    @classmethod
    def make(cls, top: Path) -> Box:
        (top / "outside" / "sub").mkdir(parents=True)
        (top / "outside" / "secret").write_bytes(SECRET)
        (top / "inner" / "dest").mkdir(parents=True)
        (top / "inner" / "secret2").write_bytes(SECRET)
        os.chmod(top / "outside" / "sub", 0o750)
        return cls(top)

    @property
    def dest(self) -> Path:
        return self.top / "inner" / "dest"

    @property
    def outside(self) -> Path:
        return self.top / "outside"

    def snapshot(self) -> Snapshot:
        snap: Snapshot = {}
        dest = str(self.dest)
        for dirpath, dirnames, filenames in os.walk(self.top):
            if dirpath == dest:
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                if full == dest:
                    continue
                st = os.lstat(full)
                if stat.S_ISREG(st.st_mode):
                    with open(full, "rb") as fh:
                        content = hashlib.sha256(fh.read()).hexdigest()
                elif stat.S_ISLNK(st.st_mode):
                    content = "->" + os.readlink(full)
                else:
                    content = ""
                snap[os.path.relpath(full, self.top)] = (st.st_mode, st.st_size, st.st_mtime_ns, content)
        return snap

    def escapes(self, before: Snapshot) -> list[str]:
        """Every observable effect outside ``dest`` since ``before``, and every dangerous entry in it."""
        found: list[str] = []
        after = self.snapshot()
        for k in sorted(set(before) | set(after)):
            if before.get(k) != after.get(k):
                found.append(f"outside changed: {k}: {before.get(k)} -> {after.get(k)}")
        outside_inodes = {os.lstat(self.top / k).st_ino for k, v in after.items() if stat.S_ISREG(v[0])}
        dest = os.path.realpath(self.dest)
        for dirpath, dirnames, filenames in os.walk(self.dest):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    found.append(f"device node in dest: {full}")
                elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and st.st_ino in outside_inodes:
                    found.append(f"hard link to a file outside: {full}")
                elif stat.S_ISLNK(st.st_mode) and link_leaves_root(dest, os.path.relpath(full, dest)):
                    found.append(f"symlink leading outside: {full} -> {os.readlink(full)}")
        return found


def link_leaves_root(root: str, rel: str) -> bool:
    """Resolve ``rel`` under ``root`` following its symlinks with rootfs semantics (an absolute target starts
    again at ``root``, as in the delivered rootfs) and report whether any step climbs above ``root``
    (``..`` at the top: what a host process following the link would do)."""
    todo = [c for c in rel.split("/") if c not in ("", ".")]
    stack: list[str] = []
    hops = 0
    while todo:
        comp = todo.pop(0)
        if comp == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(comp)
        full = os.path.join(root, *stack)
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                return False  # ELOOP: the kernel refuses to follow it
            target = os.readlink(full)
            stack.pop()
            if target.startswith("/"):
                stack = []
            todo = [c for c in target.split("/") if c not in ("", ".")] + todo
    return False


@dataclass
class Outcome:
    refused: bool          # extraction raised a clean SealerError
    crashed: str | None    # any other exception (a bug: hostile input must give a clean error)
    escapes: list[str]


def try_extract(box: Box, data: bytes, limits: ExtractLimits | None = None) -> Outcome:
    before = box.snapshot()
    refused, crashed = False, None
    try:
        extract_layer(io.BytesIO(data), box.dest, limits=limits or ExtractLimits())
    except SealerError:
        refused = True
    except Exception as e:  # noqa: BLE001 - counted as a crash
        crashed = f"{type(e).__name__}: {e}"
    return Outcome(refused, crashed, box.escapes(before))


# ---- named layer cases -----------------------------------------------------------------------------
LayerCase = Callable[[Box], bytes]


def _abs(box: Box, *parts: str) -> str:
    return str(box.top.joinpath(*parts))


LAYER_CASES: dict[str, LayerCase] = {
    "absolute_path": lambda b: TarBuilder().file(_abs(b, "outside", "pwned")).data(),
    "absolute_path_overwrite": lambda b: TarBuilder().file(_abs(b, "outside", "secret")).data(),
    "dotdot": lambda b: TarBuilder().file("../pwned").data(),
    "dotdot_nested": lambda b: TarBuilder().dir("a").file("a/../../secret2").data(),
    "dotdot_backslash": lambda b: TarBuilder().file("..\\secret2").data(),
    "symlink_out_then_write": lambda b: TarBuilder().symlink("l", "..").file("l/secret2").data(),
    "symlink_abs_host_then_write": lambda b: TarBuilder().symlink("l", _abs(b, "outside"))
    .file("l/secret").data(),
    "symlink_lexical_trick": lambda b: TarBuilder().symlink("l", ".").symlink("s", "l/..")
    .file("s/secret2").data(),
    "symlink_chain_dotdot": lambda b: TarBuilder().dir("d").symlink("x", "d/../..").data(),
    "symlink_replaced_component": lambda b: TarBuilder().dir("d").symlink("s", "d/..").symlink("d", ".").data(),
    "hardlink_dotdot": lambda b: TarBuilder().hardlink("h", "../secret2").data(),
    "hardlink_absolute": lambda b: TarBuilder().hardlink("h", _abs(b, "outside", "secret")).data(),
    "hardlink_through_symlink": lambda b: TarBuilder().symlink("l", _abs(b, "outside"))
    .hardlink("h", "l/secret").data(),
    "hardlink_to_directory": lambda b: TarBuilder().dir("d").hardlink("h", "d").data(),
    "device_char": lambda b: TarBuilder().device("null2").data(),
    "device_block": lambda b: TarBuilder().device("sda9", block=True, major=8, minor=0).data(),
    "duplicate_overwrite_through_symlink": lambda b: TarBuilder().symlink("f", _abs(b, "outside", "secret"))
    .file("f", b"PWNED\n").data(),
    "duplicate_dir_then_symlink_then_write": lambda b: TarBuilder().dir("d").symlink("d", _abs(b, "outside"))
    .file("d/secret").data(),
    "dir_mode_through_later_symlink": lambda b: TarBuilder().dir("d", 0o777).symlink("d", _abs(b, "outside", "sub"))
    .data(),
    "dir_parent_replaced_by_fifo": lambda b: TarBuilder().dir("d/e").fifo("d").data(),
    "whiteout_dotdot": lambda b: TarBuilder().file(".wh...", b"").data(),
    "whiteout_dot": lambda b: TarBuilder().file("x/.wh..", b"").data(),
    "whiteout_through_symlink": lambda b: TarBuilder().symlink("l", _abs(b, "outside"))
    .file("l/.wh.secret", b"").data(),
    "opaque_through_symlink": lambda b: TarBuilder().symlink("l", _abs(b, "outside"))
    .file("l/.wh..wh..opq", b"").data(),
    "nul_in_name": lambda b: _raw_header_tar("a\x00/../../secret2"),
    "long_name": lambda b: TarBuilder(tarfile.PAX_FORMAT).file("d/" + "x" * 5000).data(),
    "empty_symlink_target": lambda b: TarBuilder().symlink("e", "").data(),
    "garbage": lambda b: random.Random(7).randbytes(4096),
}


def _raw_header_tar(name: str) -> bytes:
    """A ustar header with a name tarfile would refuse to write (NUL inside)."""
    ti = tarfile.TarInfo("placeholder")
    ti.size = 6
    hdr = bytearray(ti.tobuf(tarfile.USTAR_FORMAT))
    raw = name.encode("latin-1")[:100]
    hdr[0:100] = raw.ljust(100, b"\0")
    hdr[148:156] = b"        "
    chk = sum(hdr[:512])
    hdr[148:156] = f"{chk:06o}\0 ".encode()
    return bytes(hdr) + b"PWNED\n".ljust(512, b"\0") + b"\0" * 1024


def bomb_entries(n: int) -> bytes:
    tb = TarBuilder()
    for i in range(n):
        tb.file(f"f{i}", b"")
    return tb.data()


def bomb_bytes(n: int) -> bytes:
    return TarBuilder().file("big", b"\0" * n).data()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(1, int(len(data) * keep))]


# ---- random variants -------------------------------------------------------------------------------
def random_layer(rng: random.Random, box: Box) -> bytes:
    """A random mix of benign and hostile entries (names, link targets, types, duplicates, orders)."""
    names = ["a", "b", "d", "l", "s", "x/y", "d/e", "l/secret2", "s/secret2", "..", ".", "a/..", "l/..",
             ".wh...", "d/.wh..", "d/.wh..wh..opq", _abs(box, "outside", "secret"), _abs(box, "outside", "new"),
             "../secret2", "../../outside/secret", "./../x", "d/../../y"]
    targets = [".", "..", "../..", "/", "l/..", "s/..", "d/../..", "a", "d", _abs(box, "outside"),
               _abs(box, "outside", "secret"), _abs(box, "inner"), "../outside", "x/../../..", "secret2",
               "../secret2", "/etc", "d/e", ""]
    tb = TarBuilder(rng.choice([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    for _ in range(rng.randint(1, 10)):
        name = rng.choice(names)
        kind = rng.randrange(8)
        try:
            if kind == 0:
                tb.file(name, rng.choice([b"", b"PWNED\n"]), rng.choice([0o644, 0o777, 0o4755]))
            elif kind == 1:
                tb.dir(name, rng.choice([0o755, 0o777, 0o000]))
            elif kind in (2, 3):
                tb.symlink(name, rng.choice(targets))
            elif kind == 4:
                tb.hardlink(name, rng.choice(targets + names))
            elif kind == 5:
                tb.device(name, block=rng.random() < 0.5)
            elif kind == 6:
                tb.fifo(name)
            else:
                tb.file(name + "/" + rng.choice(["secret", "secret2", "z"]))
        except (ValueError, tarfile.TarError):
            continue
    data = tb.data()
    if rng.random() < 0.05:
        data = truncated(data, rng.random())
    return data


@dataclass
class ArchiveTally:
    tried: int = 0
    refused: int = 0
    escapes: int = 0
    crashes: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, out: Outcome) -> None:
        self.tried += 1
        self.refused += out.refused
        if out.escapes:
            self.escapes += 1
            if len(self.examples) < 10:
                self.examples.append(f"{name}: {out.escapes[0]}")
        if out.crashed:
            self.crashes += 1
            if len(self.examples) < 10:
                self.examples.append(f"{name}: crash {out.crashed}")


def _random_maker(seed: float) -> LayerCase:
    return lambda b: random_layer(random.Random(seed), b)


def run_layer_variants(workdir: Path, n: int, seed: int = 0) -> ArchiveTally:
    """Every named case, then ``n`` random variants, each in a fresh box."""
    tally = ArchiveTally()
    rng = random.Random(seed)
    small = ExtractLimits(max_entries=100, max_bytes=1 << 20, max_name=4096)
    jobs: Iterator[tuple[str, LayerCase]] = iter([
        *LAYER_CASES.items(),
        ("bomb_entries", lambda b: bomb_entries(150)),
        ("bomb_bytes", lambda b: bomb_bytes(2 << 20)),
        *((f"random-{seed}-{i}", _random_maker(rng.random())) for i in range(n)),
    ])
    for i, (name, make) in enumerate(jobs):
        box = Box.make(workdir / f"box{i}")
        tally.add(name, try_extract(box, make(box), small))
        force_rmtree(box.top)
    return tally



# ---- OCI-layout archives for `sealer load` ----------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def oci_image(layers: list[bytes], name: str = "docker.io/library/hostile:v1") -> tuple[dict[str, bytes], bytes]:
    """Blobs (hex -> bytes) and the index.json of a valid one-image layout with uncompressed layers."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{_sha(x)}" for x in layers]},
                         "config": {}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{_sha(config)}",
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{_sha(x)}",
                    "size": len(x)} for x in layers],
    }).encode()
    blobs = {_sha(b): b for b in [config, manifest, *layers]}
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{_sha(manifest)}",
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": name}}]}).encode()
    return blobs, index


def oci_archive(layers: list[bytes], name: str = "docker.io/library/hostile:v1",
                extra: Callable[[TarBuilder], object] | None = None) -> bytes:
    blobs, index = oci_image(layers, name)
    tb = TarBuilder(tarfile.PAX_FORMAT)
    tb.file("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    tb.file("index.json", index)
    tb.dir("blobs").dir("blobs/sha256")
    for hexd, b in blobs.items():
        tb.file(f"blobs/sha256/{hexd}", b)
    if extra is not None:
        extra(tb)
    return tb.data()


def _first_blob(layers: list[bytes]) -> str:
    return _sha(layers[0])


def load_cases(box: Box) -> dict[str, bytes]:
    """Hostile or broken archives for ``sealer load``; each must be refused and change nothing."""
    layer = TarBuilder().file("hello.txt", b"hello\n").data()
    good = oci_archive([layer])
    blobs, index = oci_image([layer])
    h = _first_blob([layer])

    def with_entries(fn: Callable[[TarBuilder], object]) -> bytes:
        return oci_archive([layer], extra=fn)

    corrupt = bytearray(good)
    pos = good.find(b"hello\n")
    corrupt[pos] ^= 0xFF
    missing = TarBuilder().file("oci-layout", b"{}").file("index.json", index)
    for hexd, b in blobs.items():
        if hexd != h:
            missing.file(f"blobs/sha256/{hexd}", b)
    doc = json.loads(index)
    doc["manifests"][0]["size"] += 1
    wrong_size = TarBuilder().file("oci-layout", b"{}").file("index.json", json.dumps(doc).encode())
    for hexd, b in blobs.items():
        wrong_size.file(f"blobs/sha256/{hexd}", b)
    return {
        "absolute_path": with_entries(lambda t: t.file(_abs(box, "outside", "pwned"))),
        "dotdot": with_entries(lambda t: t.file("blobs/../../pwned")),
        "dotdot_blob": with_entries(lambda t: t.file("../" + "blobs/sha256/" + "0" * 64)),
        "symlink_entry": with_entries(lambda t: t.symlink("blobs/sha256/" + "1" * 64, _abs(box, "outside", "secret"))),
        "symlink_then_write": with_entries(lambda t: t.symlink("blobs/x", _abs(box, "outside")).file("blobs/x/pwned")),
        "hardlink_entry": with_entries(lambda t: t.hardlink("blobs/sha256/" + "2" * 64, _abs(box, "outside", "secret"))),
        "device_entry": with_entries(lambda t: t.device("blobs/sha256/" + "3" * 64)),
        "fifo_entry": with_entries(lambda t: t.fifo("blobs/sha256/" + "4" * 64)),
        "duplicate_blob": with_entries(lambda t: t.file(f"blobs/sha256/{h}", layer)),
        "duplicate_index": with_entries(lambda t: t.file("index.json", index)),
        "unexpected_entry": with_entries(lambda t: t.file("etc/passwd", b"root::0:0::/:/bin/sh\n")),
        "bomb_entries": with_entries(lambda t: [t.file(f"blobs/sha256/{i:064x}", b"") for i in range(80)]),
        "bomb_bytes": oci_archive([layer, b"\0" * (3 << 20)]),
        "truncated_half": truncated(good, 0.5),
        "truncated_in_blob": good[: pos + 3],
        "corrupt_blob": bytes(corrupt),
        "missing_blob": missing.data(),
        "wrong_size_in_index": wrong_size.data(),
        "no_index": TarBuilder().file("oci-layout", b"{}").data(),
        "bad_index_json": TarBuilder().file("index.json", b"{not json").data(),
        "garbage": random.Random(3).randbytes(10_000),
        "empty": b"",
    }


LOAD_LIMITS_ENV = {"SEALER_LOAD_MAX_ENTRIES": "60", "SEALER_LOAD_MAX_BYTES": str(2 << 20)}


@dataclass(frozen=True)
class StoreState:
    index: bytes
    blobs: frozenset[str]
    ingest: frozenset[str]

    @classmethod
    def of(cls, root: Path) -> StoreState:
        return cls((root / "index.json").read_bytes(), frozenset(os.listdir(root / "blobs" / "sha256")),
                   frozenset(os.listdir(root / "ingest")))


def run_load_variants(workdir: Path, n: int, seed: int = 0) -> ArchiveTally:
    """Every named ``load`` case, then ``n`` mutations of a valid archive (byte flips, truncations, injected
    hostile entries), each loaded into a store that already holds an image. An escape is: the store changed
    although the load failed, an inconsistent store after a successful load, or a change outside."""
    from sealer.store.archive import LoadLimits, load
    from sealer.store.fsck import fsck
    from sealer.store.layout import Store

    rng = random.Random(seed)
    tally = ArchiveTally()
    limits = LoadLimits(max_entries=int(LOAD_LIMITS_ENV["SEALER_LOAD_MAX_ENTRIES"]),
                        max_bytes=int(LOAD_LIMITS_ENV["SEALER_LOAD_MAX_BYTES"]))
    layer = TarBuilder().file("hello.txt", b"hello\n" * 50).dir("etc").file("etc/x", b"x").data()
    good = oci_archive([layer], "docker.io/library/mutant:v1")
    box = Box.make(workdir / "loadbox")
    store = Store(workdir / "loadstore")
    load(store, io.BytesIO(oci_archive([TarBuilder().file("a", b"a").data()], "docker.io/library/before:v1")))
    named = load_cases(box)

    def variants() -> Iterator[tuple[str, bytes]]:
        yield from named.items()
        for i in range(n):
            data = bytearray(good)
            op = rng.randrange(4)
            if op == 0:
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 1:
                del data[rng.randrange(len(data)):]
            elif op == 2:
                data = bytearray(rng.choice(list(named.values())))
                if data:
                    data[rng.randrange(len(data))] ^= 0xFF
            else:
                data = bytearray(named[rng.choice(sorted(named))])
            yield f"mutant-{seed}-{i}", bytes(data)

    for name, data in variants():
        before = StoreState.of(store.root)
        before_box = box.snapshot()
        problems: list[str] = []
        refused, crashed = False, None
        try:
            load(store, io.BytesIO(data), limits)
        except SealerError:
            refused = True
        except Exception as e:  # noqa: BLE001 - counted as a crash
            crashed = f"{type(e).__name__}: {e}"
        after = StoreState.of(store.root)
        if after.ingest:
            problems.append(f"ingest leftovers: {sorted(after.ingest)}")
        if (refused or crashed) and (after.index != before.index or after.blobs != before.blobs):
            problems.append("store changed by a failed load")
        if not refused and not crashed and not fsck(store, verify_content=True).ok:
            problems.append("store inconsistent after a successful load")
        problems += box.escapes(before_box)
        tally.add(name, Outcome(refused, crashed, problems))
    return tally
