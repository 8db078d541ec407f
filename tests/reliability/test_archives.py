"""Hostile archives: layer extraction (``extract_layer``) and ``sealer load`` refuse them, nothing escapes, and
a refused ``load`` changes nothing in the store (index.json bytes, blobs, ingest)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sealer.errors import ArchiveError
from sealer.store.archive import LoadLimits, load
from sealer.store.layout import Store
from sealer.tario.extract import ExtractLimits, extract_layer

from .conftest import Sealer
from .hostile import (
    LAYER_CASES,
    LOAD_LIMITS_ENV,
    SECRET,
    Box,
    StoreState,
    TarBuilder,
    bomb_bytes,
    bomb_entries,
    load_cases,
    oci_archive,
    run_layer_variants,
    truncated,
    try_extract,
)

SMALL = ExtractLimits(max_entries=100, max_bytes=1 << 20)
# cases where extraction may succeed, because the hostile part is neutralised rather than refused
NEUTRALISED = {
    "duplicate_overwrite_through_symlink",  # the symlink is replaced by a new file, never written through
    "dir_mode_through_later_symlink",       # the final chmod skips what is no longer a directory
    "nul_in_name",                          # tar names end at NUL: the entry is the harmless "a"
    "dir_parent_replaced_by_fifo",          # the replaced directory's mode is simply not applied
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_hostile_layer_is_contained(tmp_path: Path, case: str) -> None:
    box = Box.make(tmp_path / "box")
    out = try_extract(box, LAYER_CASES[case](box), SMALL)
    assert out.crashed is None, f"{case}: not a clean error: {out.crashed}"
    assert out.escapes == [], f"{case}: escaped: {out.escapes}"
    if case not in NEUTRALISED:
        assert out.refused, f"{case}: extraction should have been refused"
    assert (box.outside / "secret").read_bytes() == SECRET


def test_duplicate_entry_replaces_symlink_instead_of_writing_through(tmp_path: Path) -> None:
    box = Box.make(tmp_path / "box")
    extract_layer(io.BytesIO(LAYER_CASES["duplicate_overwrite_through_symlink"](box)), box.dest)
    assert (box.dest / "f").read_bytes() == b"PWNED\n" and not (box.dest / "f").is_symlink()
    assert (box.outside / "secret").read_bytes() == SECRET


def test_tar_bomb_entry_count_is_limited(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="more than 100 entries"):
        extract_layer(io.BytesIO(bomb_entries(150)), tmp_path / "d", limits=SMALL)


def test_tar_bomb_size_is_limited(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="bytes of content"):
        extract_layer(io.BytesIO(bomb_bytes(2 << 20)), tmp_path / "d", limits=SMALL)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.7])  # inside the data, not the zero padding
def test_truncated_layer_is_a_clean_error(tmp_path: Path, keep: float) -> None:
    data = TarBuilder().file("a", b"x" * 20_000).file("b", b"y" * 20_000).data()
    with pytest.raises(ArchiveError):
        extract_layer(io.BytesIO(truncated(data, keep)), tmp_path / "d")


def test_benign_layer_still_extracts(tmp_path: Path) -> None:
    """The guards do not refuse what real rootfs layers hold."""
    data = (TarBuilder().dir("usr").dir("usr/lib").file("usr/lib/libx.so.1", b"elf").symlink("lib", "usr/lib")
            .symlink("usr/lib/libx.so", "libx.so.1").symlink("bin/sh", "/bin/busybox").dir("etc")
            .symlink("etc/mtab", "../proc/self/mounts").hardlink("usr/lib/libx.hard", "usr/lib/libx.so.1")
            .fifo("run/fifo").file("etc/.wh.gone", b"").data())
    n = extract_layer(io.BytesIO(data), tmp_path / "d")
    assert n >= 9
    assert (tmp_path / "d" / "lib" / "libx.so").read_bytes() == b"elf"


def test_random_hostile_layers_never_escape(tmp_path: Path) -> None:
    tally = run_layer_variants(tmp_path, 150, seed=1)
    assert tally.escapes == 0 and tally.crashes == 0, tally.examples
    assert tally.refused > tally.tried // 2


# ---- sealer load --------------------------------------------------------------------------------------
@pytest.fixture
def loaded_store(tmp_path: Path, sealer: Sealer) -> Sealer:
    """A store that already holds one image (loaded from a valid archive)."""
    good = tmp_path / "good.tar"
    good.write_bytes(oci_archive([TarBuilder().file("a.txt", b"a\n").data()], "docker.io/library/before:v1"))
    sealer("load", "-i", str(good))
    return sealer


@pytest.mark.parametrize("case", sorted(load_cases(Box(Path("/nonexistent")))))
def test_hostile_load_changes_nothing(tmp_path: Path, loaded_store: Sealer, case: str) -> None:
    box = Box.make(tmp_path / "box")
    before_box = box.snapshot()
    archive = tmp_path / f"{case}.tar"
    archive.write_bytes(load_cases(box)[case])
    before = StoreState.of(loaded_store.root)
    r = loaded_store("load", "-i", str(archive), ok=False, env=LOAD_LIMITS_ENV)
    assert r.exit_code != 0, f"{case}: load accepted a hostile archive:\n{r.output}"
    assert "Error:" in r.output and "Traceback" not in r.output
    assert StoreState.of(loaded_store.root) == before, f"{case}: the store changed"
    assert box.escapes(before_box) == []
    assert [i["name"] for i in loaded_store.json("images")] == ["docker.io/library/before:v1"]


def test_load_limits_are_configurable(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    data = oci_archive([TarBuilder().file("a", b"a").data()])
    with pytest.raises(ArchiveError, match="more than 2 entries"):
        load(store, io.BytesIO(data), LoadLimits(max_entries=2))
    with pytest.raises(ArchiveError, match="more than 100 bytes"):
        load(store, io.BytesIO(data), LoadLimits(max_bytes=100))
    assert load(store, io.BytesIO(data)) == ["docker.io/library/hostile:v1"]


def test_loaded_image_with_hostile_layer_is_refused_at_export(tmp_path: Path, sealer: Sealer) -> None:
    """The digests of a hostile layer are valid, so load accepts it; unpacking it must still contain it."""
    box = Box.make(tmp_path / "box")
    layer = TarBuilder().file("ok.txt", b"ok\n").symlink("l", ".").symlink("s", "l/..").file("s/inner-pwn").data()
    archive = tmp_path / "h.tar"
    archive.write_bytes(oci_archive([layer]))
    sealer("load", "-i", str(archive))
    before = box.snapshot()
    r = sealer("export-rootfs", "hostile:v1", str(box.dest), ok=False)
    assert r.exit_code != 0 and "leads outside" in r.output
    assert box.escapes(before) == []


def test_mutated_load_archives_change_nothing_or_load_whole(tmp_path: Path) -> None:
    from .hostile import run_load_variants

    tally = run_load_variants(tmp_path, 120, seed=4)
    assert tally.escapes == 0 and tally.crashes == 0, tally.examples
