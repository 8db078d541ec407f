"""COPY planning against a real directory tree (build/context.py, build/ignore.py): which files a COPY takes,
under which names, what `.sealerignore` leaves out, what is refused, and when the content hash changes. The
expected entries are written out by hand from the rules in the module docstrings (sealer's COPY, docker's
.dockerignore)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sealer.build.context import CopyPlan, normalize_dest, plan_copy
from sealer.build.ignore import IgnoreRules, compile_pattern, glob_context, has_magic, load
from sealer.build.statcache import StatCache
from sealer.errors import BuildError
from sealer.kubefile.instructions import Copy, Location


def copy(*sources: str, dest: str = ".", line: int = 7) -> Copy:
    return Copy(tuple(sources), dest, Location("Kubefile", line, line))


def plan(ctx: Path, *sources: str, dest: str = ".") -> CopyPlan:
    return plan_copy(copy(*sources, dest=dest), str(ctx), StatCache())


def refused(ctx: Path, *sources: str, why: str, dest: str = ".") -> BuildError:
    """plan() fails with a BuildError pointing at the COPY's own line (Kubefile:7)."""
    with pytest.raises(BuildError, match=why) as e:
        plan(ctx, *sources, dest=dest)
    assert (e.value.file, e.value.line) == ("Kubefile", 7), e.value
    return e.value


def names(p: CopyPlan, ctx: Path) -> dict[str, str | None]:
    return {arc: (os.path.relpath(src, ctx) if src is not None else None) for arc, src in p.entries.items()}


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    c = tmp_path / "ctx"
    for rel in ("a.yaml", "b.txt", "charts/apollo/Chart.yaml", "charts/apollo/values.yaml", "charts/x.tmp",
                "sub/deep/c.yaml", "sub/deep/d.tmp", "sub/e.yaml", ".hidden.yaml", "logs/1.log"):
        p = c / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    return c


def test_file_and_directory_sources_land_under_their_base_name(ctx: Path) -> None:
    p = plan(ctx, "a.yaml", "charts/apollo", dest="/manifests/")
    assert names(p, ctx) == {"manifests/a.yaml": "a.yaml", "manifests/apollo": "charts/apollo",
                             "manifests/apollo/Chart.yaml": "charts/apollo/Chart.yaml",
                             "manifests/apollo/values.yaml": "charts/apollo/values.yaml"}


def test_copy_dot_copies_the_contents_at_the_root(ctx: Path) -> None:
    p = plan(ctx, ".", dest="./")
    assert set(p.entries) == {"a.yaml", "b.txt", "charts", "charts/apollo", "charts/apollo/Chart.yaml",
                              "charts/apollo/values.yaml", "charts/x.tmp", "sub", "sub/deep", "sub/deep/c.yaml",
                              "sub/deep/d.tmp", "sub/e.yaml", ".hidden.yaml", "logs", "logs/1.log"}


def test_directory_to_root_keeps_its_name(ctx: Path) -> None:
    assert set(plan(ctx, "logs").entries) == {"logs", "logs/1.log"}
    assert set(plan(ctx, "./logs/").entries) == {"logs", "logs/1.log"}


def test_globs(ctx: Path) -> None:
    assert set(plan(ctx, "*.yaml", dest="m").entries) == {"m/a.yaml", "m/.hidden.yaml"}
    assert set(plan(ctx, "**/*.yaml", dest="m").entries) == {
        "m/a.yaml", "m/.hidden.yaml", "m/Chart.yaml", "m/values.yaml", "m/c.yaml", "m/e.yaml"}
    assert set(plan(ctx, "sub/*", dest="m").entries) == {"m/deep", "m/deep/c.yaml", "m/deep/d.tmp", "m/e.yaml"}
    assert set(plan(ctx, "s?b/e.yam[a-z]", dest="m").entries) == {"m/e.yaml"}


def test_sealerignore_applies_to_directories_globs_and_names(ctx: Path) -> None:
    (ctx / ".sealerignore").write_text("# tmp files\n**/*.tmp\n\nlogs\n/charts/apollo/values.yaml\n")
    every = set(plan(ctx, ".").entries)
    assert every == {".sealerignore", "a.yaml", "b.txt", "charts", "charts/apollo", "charts/apollo/Chart.yaml",
                     "sub", "sub/deep", "sub/deep/c.yaml", "sub/e.yaml", ".hidden.yaml"}
    assert set(plan(ctx, "charts", dest="x").entries) == {"x/charts", "x/charts/apollo",
                                                          "x/charts/apollo/Chart.yaml"}
    refused(ctx, "logs", why=r"Kubefile:7: COPY source 'logs' is excluded by \.sealerignore")
    refused(ctx, "**/*.tmp", why=r"'\*\*/\*\.tmp' matches no file in the build context \(2 match\(es\) "
                                r"excluded by \.sealerignore\)")
    refused(ctx, "nothing*", why=r"'nothing\*' matches no file in the build context$")


def test_sealerignore_exception_brings_a_file_back_from_an_ignored_directory(ctx: Path) -> None:
    (ctx / ".sealerignore").write_text("sub\n!sub/deep/c.yaml\n")
    assert set(plan(ctx, ".").entries) - {".sealerignore", "a.yaml", "b.txt", ".hidden.yaml"} == {
        "charts", "charts/apollo", "charts/apollo/Chart.yaml", "charts/apollo/values.yaml", "charts/x.tmp",
        "logs", "logs/1.log", "sub/deep/c.yaml"}


def test_ignored_directory_is_pruned_without_exceptions(ctx: Path) -> None:
    (ctx / ".sealerignore").write_text("sub\n")
    assert not any(a.startswith("sub") for a in plan(ctx, ".").entries)
    # the walk does not enter sub/ at all, so its files are not even counted as excluded matches
    assert glob_context("**/*.yaml", str(ctx), load(str(ctx), ".sealerignore")) == (
        [".hidden.yaml", "a.yaml", "charts/apollo/Chart.yaml", "charts/apollo/values.yaml"], 0)
    (ctx / ".sealerignore").write_text("sub\n!sub/e.yaml\n")
    assert glob_context("**/*.yaml", str(ctx), load(str(ctx), ".sealerignore")) == (
        [".hidden.yaml", "a.yaml", "charts/apollo/Chart.yaml", "charts/apollo/values.yaml", "sub/e.yaml"], 1)


@pytest.mark.parametrize(("src", "why"), [
    ("/etc/passwd", "is absolute"), ("~/x", "is absolute"), ("../x", "leaves the build context"),
    ("sub/../../x", "leaves the build context"), ("missing", "not found in the build context"),
    ("a.yaml/..", "leaves the build context"),
])
def test_refused_sources(ctx: Path, src: str, why: str) -> None:
    refused(ctx, src, why=why)


def test_backslash_dotdot_is_refused(ctx: Path) -> None:
    refused(ctx, "sub\\..\\..\\x", why="leaves the build context")


def test_destination_leaving_the_rootfs_points_at_the_copy(ctx: Path) -> None:
    refused(ctx, "a.yaml", dest="../x", why=r"destination '\.\./x' leaves the rootfs")


def test_a_link_to_the_context_itself_copies_its_contents(ctx: Path) -> None:
    os.symlink(".", ctx / "here")
    got = set(plan(ctx, "logs", dest="x").entries)
    assert set(plan(ctx, "here/logs", dest="x").entries) == got == {"x/logs", "x/logs/1.log"}
    whole = plan(ctx, "here", dest="x").entries
    assert "x/a.yaml" in whole and "x/here/a.yaml" not in whole      # the context's contents, not a 'here' dir


def test_the_given_stat_cache_is_used(ctx: Path) -> None:
    stats = StatCache()
    plan_copy(copy("a.yaml", "b.txt"), str(ctx), stats)
    assert stats.reads + stats.hits == 2


def test_symlink_to_a_file_inside_is_copied(ctx: Path) -> None:
    os.symlink("a.yaml", ctx / "ln")
    assert names(plan(ctx, "ln", dest="x"), ctx) == {"x/ln": "a.yaml"}   # a link inside: its target's bytes


def test_symlinks_leading_out_are_refused(ctx: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", ctx / "abs")
    refused(ctx, "abs", why="resolves to .*secret, outside the build context")
    os.symlink("../../secret", ctx / "sub" / "rel")
    refused(ctx, "sub", why=r"COPY 'sub/rel' is a symlink to '../../secret', outside")
    os.unlink(ctx / "sub" / "rel")
    os.symlink("/ctx/a.yaml", ctx / "sub" / "absin")
    refused(ctx, "sub", why="is a symlink to '/ctx/a.yaml', outside")
    os.unlink(ctx / "sub" / "absin")
    os.symlink("../a.yaml", ctx / "sub" / "ok")
    assert names(plan(ctx, "sub"), ctx)["sub/ok"] == "sub/ok"


def test_fifos_are_refused(ctx: Path) -> None:
    os.mkfifo(ctx / "f")
    refused(ctx, "f", why=r"COPY 'f': devices, sockets and fifos cannot be copied")
    os.rename(ctx / "f", ctx / "sub" / "f")
    refused(ctx, "sub", why=r"COPY 'sub/f': devices, sockets and fifos")


def test_destination_leaving_the_rootfs_is_refused() -> None:
    assert normalize_dest("/bin", "K:1") == "bin"
    assert normalize_dest("./a//b/", "K:1") == "a/b"
    assert normalize_dest("a\\b", "K:1") == "a/b"
    assert normalize_dest(".", "K:1") == ""
    with pytest.raises(BuildError, match=r"destination '\.\./x' leaves the rootfs") as e:
        normalize_dest("../x", "Kubefile:12")
    assert (e.value.file, e.value.line) == ("Kubefile", 12)
    with pytest.raises(BuildError) as e:
        normalize_dest("a/../../x", "no-line")
    assert (e.value.file, e.value.line) == ("no-line", None)
    with pytest.raises(BuildError) as e:
        normalize_dest("..", "ctx:v2/Kubefile:3")              # a ':' in the file name
    assert (e.value.file, e.value.line) == ("ctx:v2/Kubefile", 3)


def test_content_hash_covers_names_modes_links_and_bytes_not_mtimes(ctx: Path) -> None:
    os.symlink("a.yaml", ctx / "sub" / "l")
    base = plan(ctx, ".").content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert plan(ctx, ".").content_hash == base
    os.utime(ctx / "a.yaml", (1, 1))
    assert plan(ctx, ".").content_hash == base                     # mtime alone: same content
    seen = {base}
    for change in (lambda: (ctx / "a.yaml").write_text("A.yaml"),    # bytes (same size)
                   lambda: os.chmod(ctx / "b.txt", 0o600),            # mode
                   lambda: (os.unlink(ctx / "sub" / "l"), os.symlink("b.txt", ctx / "sub" / "l")),  # link target
                   lambda: os.rename(ctx / "logs" / "1.log", ctx / "logs" / "2.log"),               # name
                   lambda: (ctx / "newdir").mkdir(),                  # an empty directory
                   ):
        change()
        h = plan(ctx, ".").content_hash
        assert h not in seen
        seen.add(h)
    assert plan(ctx, ".", dest="x").content_hash not in seen     # the destination is part of the names


def test_plain_directory_entries_and_file_symlink_type_differ(ctx: Path) -> None:
    (ctx / "t").mkdir()
    (ctx / "t" / "x").write_text("a.yaml")
    h1 = plan(ctx, "t").content_hash
    os.unlink(ctx / "t" / "x")
    os.symlink("a.yaml", ctx / "t" / "x")
    assert plan(ctx, "t").content_hash != h1


def test_a_source_vanishing_while_planned_is_a_build_error(ctx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_lstat = os.lstat

    def vanishing(path: str, *a: object, **k: object) -> os.stat_result:
        if str(path).endswith("c.yaml"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_lstat(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", vanishing)
    with pytest.raises(BuildError, match=r"COPY: .*c\.yaml changed while the build read it \(No such file or "
                                         r"directory\); is something modifying the build context\?") as e:
        plan(ctx, "sub")
    assert (e.value.file, e.value.line) == ("Kubefile", 7)


def test_default_stat_cache_is_shared_in_process(ctx: Path) -> None:
    from sealer.build import context
    before = context._process_stats.reads + context._process_stats.hits
    plan_copy(copy("a.yaml"), str(ctx))
    assert context._process_stats.reads + context._process_stats.hits == before + 1


# ---- ignore.py ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("a.b", "a.b", True), ("a.b", "axb", False), ("a+", "a+", True), ("a+", "aa", False),
    ("(x)", "(x)", True), ("x|y", "x", False), ("{a}", "{a}", True), ("$a", "$a", True), ("^a", "^a", True),
    ("*", "abc", True), ("*", "a/b", False), ("?", "ab", False), ("a?c", "a/c", False),
    ("**", "a/b/c", True), ("a/**", "a/b/c", True), ("**/c", "c", True), ("**/c", "x/y/c", True),
    ("**c", "x/c", True), ("a/**/b", "ab", False), ("a/**/b", "a/b", True),
    ("[abc]", "b", True), ("[!abc]", "b", False), ("[!abc]", "d", True), ("[a-c]x", "cx", True),
    ("[", "[", True), ("a[", "a[", True), ("\\*", "*", True), ("\\*", "a", False), ("a\\", "a\\", False),
    ("[\\]]", "]", False), ("x", "x\ny", False),
    ("a**", "abc/d", True), ("a**/b", "ax/y/b", True), ("x/**", "x/", True),
    ("**", "a\nb", True), ("a/**/b", "a/x\ny/b", True), ("a*b", "a\nb", True),
    ("[ab][cd]", "bd", True), ("[ab]x[cd]", "axd", True), ("[ab]]", "a]", True), ("[!!a]", "b", True),
    ("[!!a]", "!", False), ("[a\\]", "\\", True), ("\\[x]", "[x]", True), ("a\\?b", "a?b", True),
    ("a\\?b", "axb", False), ("?*?", "ab", True), ("x*y*z", "xaaybbz", True),
    ("**c", "x/d", False), ("x/**/", "x/y", True), ("a/**/b", "a/xb", False), ("[a].[b]", "axb", False),
    ("[a].[b]", "a.b", True), ("[a\\]", "X", False), ("Xa", "Xa", True),
])
def test_compile_pattern(pattern: str, path: str, hit: bool) -> None:
    assert bool(compile_pattern(pattern).match(path)) is hit


def test_ignore_rules_parsing() -> None:
    rules = IgnoreRules(["", "  ", "# c", " *.log ", "!", "!  keep.log", "/", ".", "./x/"])
    assert [(r.text, r.exclusion) for r in rules.rules] == [("*.log", False), ("!  keep.log", True), ("./x/", False)]
    assert rules.has_exceptions and bool(rules)
    assert rules.ignored("a.log") and not rules.ignored("keep.log") and rules.ignored("x/y")
    assert not rules.ignored("") and not rules.ignored(".")
    assert not IgnoreRules(["*"]).ignored("") and not IgnoreRules(["*"]).ignored("./")
    assert not rules.prune("x")                         # an exception could bring a child back
    empty = IgnoreRules(["# only a comment"])
    assert not empty and not empty.has_exceptions and not empty.ignored("anything") and not empty.prune("a")
    assert IgnoreRules(["x"]).prune("x") and not IgnoreRules(["x"]).prune("y")
    assert IgnoreRules(["/XX/Xfile"]).ignored("XX/Xfile") and IgnoreRules(["Xfile"]).ignored("Xfile")
    assert not IgnoreRules(["Xfile"]).ignored("file") and not IgnoreRules(["file"]).ignored("Xfile")


def test_ignore_parents_and_last_match() -> None:
    rules = IgnoreRules(["a/b", "!a/b/keep", "a/b/keep/drop"])
    assert rules.ignored("a/b/c/d")
    assert not rules.ignored("a/b/keep/x")
    assert rules.ignored("a/b/keep/drop")
    assert rules.ignored("a/b/keep/drop/deeper")
    assert not rules.ignored("a/bc")
    assert IgnoreRules(["**/*.tmp"]).ignored("x/y.tmp/inner")


def test_load_reads_the_named_file(tmp_path: Path) -> None:
    (tmp_path / ".sealerignore").write_bytes(b"a\r\n\xff\nb\ncaf\xc3\xa9*\n")
    rules = load(str(tmp_path), ".sealerignore")
    assert rules.ignored("a") and rules.ignored("b") and not rules.ignored("c")
    assert rules.ignored("caf\u00e9.txt") and not rules.ignored("cafe.txt")     # the file is UTF-8
    assert not load(str(tmp_path), ".other")
    (tmp_path / ".dir").mkdir()
    assert not load(str(tmp_path), ".dir")


@pytest.mark.parametrize(("pattern", "magic"), [("a*", True), ("a?", True), ("[a]", True), ("a.b", False),
                                                ("a/b", False), ("X.yaml", False), ("]", False)])
def test_has_magic(pattern: str, magic: bool) -> None:
    assert has_magic(pattern) is magic


def test_glob_context_depth_and_nesting(ctx: Path) -> None:
    none = IgnoreRules([])
    assert glob_context("*", str(ctx), none) == ([".hidden.yaml", "a.yaml", "b.txt", "charts", "logs", "sub"], 0)
    assert glob_context("*/*.yaml", str(ctx), none) == (["sub/e.yaml"], 0)
    assert glob_context("/sub/*/*.yaml", str(ctx), none) == (["sub/deep/c.yaml"], 0)
    assert glob_context("**/deep", str(ctx), none) == (["sub/deep"], 0)
    assert glob_context("**", str(ctx), none)[0] == [".hidden.yaml", "a.yaml", "b.txt", "charts", "logs", "sub"]
    assert glob_context("c*/**/*.yaml", str(ctx), none) == (["charts/apollo/Chart.yaml",
                                                             "charts/apollo/values.yaml"], 0)
    assert glob_context("sub*", str(ctx), IgnoreRules(["sub"])) == ([], 1)


def test_glob_prunes_only_the_ignored_directory_not_namesakes(ctx: Path) -> None:
    (ctx / "charts" / "sub").mkdir()
    (ctx / "charts" / "sub" / "f.yaml").write_text("f")
    got, dropped = glob_context("**/*.yaml", str(ctx), IgnoreRules(["sub"]))
    assert "charts/sub/f.yaml" in got and not any(g.startswith("sub/") for g in got) and dropped == 0


@pytest.mark.parametrize("bad", ["[]", "[!]", "a/[]b"])
def test_a_bad_ignore_pattern_names_the_file_and_line(ctx: Path, bad: str) -> None:
    """docker refuses these (Go's filepath.ErrBadPattern): a build error at .sealerignore:LINE, not a crash."""
    (ctx / ".sealerignore").write_text(f"# comment\n*.tmp\n{bad}\n")
    with pytest.raises(BuildError, match=r"syntax error in pattern") as e:
        plan(ctx, ".")
    assert (e.value.file, e.value.line) == (str(ctx / ".sealerignore"), 3), e.value


def test_a_bad_copy_glob_points_at_the_copy(ctx: Path) -> None:
    refused(ctx, "src/[]*", why=r"COPY source 'src/\[\]\*': syntax error in pattern")
