"""registries.conf (``registry/mirrors.py``) rule by rule: what each entry and mirror reads, which entry a
reference matches, the order of sources and how names are rewritten, and the errors of a bad file. The
expected sources are written by hand from containers-registries.conf(5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer import reference
from sealer.errors import RegistryError
from sealer.registry.mirrors import MirrorEntry, RegistriesConf, RegistryEntry, Source

DIGEST = "sha256:" + "d" * 64


def _srcs(conf: RegistriesConf, ref: str) -> list[tuple[str, bool, bool]]:
    return [(str(s.ref), s.insecure, s.mirror) for s in conf.sources(reference.parse(ref))]


def test_entries_and_mirrors_as_read() -> None:
    conf = RegistriesConf.from_dict({"registry": [
        {"location": "reg.example/"},
        {"prefix": "p.example/team/", "location": "real.example/team", "insecure": True, "blocked": False,
         "mirror": [{"location": "m.example/t/", "insecure": True},
                    {"location": "d.example/t", "pull-from-mirror": "digest-only"}]},
        {"prefix": "q.example", "mirror-by-digest-only": True, "mirror": [{"location": "m2.example/q"}]},
        {"location": "b.example", "blocked": True},
    ]})
    assert conf.registries == (
        RegistryEntry("reg.example", "reg.example"),
        RegistryEntry("p.example/team", "real.example/team", True, False,
                      (MirrorEntry("m.example/t", True, "all"), MirrorEntry("d.example/t", False, "digest-only"))),
        RegistryEntry("q.example", "q.example", mirrors=(MirrorEntry("m2.example/q", False, "digest-only"),)),
        RegistryEntry("b.example", "b.example", False, True),
    )
    assert RegistriesConf.from_dict({}).registries == () and RegistriesConf.load(None).registries == ()


def test_longest_prefix_wins_whatever_the_order() -> None:
    entries = [{"prefix": "docker.io/library/nginx", "location": "one.example/nginx"},
               {"prefix": "docker.io", "location": "two.example"},
               {"prefix": "docker.io/library", "location": "three.example/lib"}]
    for order in (entries, entries[::-1]):
        conf = RegistriesConf.from_dict({"registry": order})
        assert _srcs(conf, "nginx:1") == [("one.example/nginx:1", False, False)]
        assert _srcs(conf, "redis:7") == [("three.example/lib/redis:7", False, False)]
        assert _srcs(conf, "a/b:1") == [("two.example/a/b:1", False, False)]
        # a prefix matches whole path components only
        assert _srcs(conf, "library/nginx-extra:1") == [("three.example/lib/nginx-extra:1", False, False)]
        assert conf.match(reference.parse("quay.io/x/y:1")) is None


def test_wildcard_prefix_matches_sub_domains_only() -> None:
    conf = RegistriesConf.from_dict({"registry": [
        {"location": "*.corp.example", "insecure": True, "mirror": [{"location": "cache.example/corp"}]},
        {"location": "x.corp.example/team/app", "blocked": True}]})
    assert _srcs(conf, "a.corp.example/x/y:1") == [("cache.example/corp/x/y:1", False, True),
                                                   ("a.corp.example/x/y:1", True, False)]
    assert _srcs(conf, "corp.example/x/y:1") == [("corp.example/x/y:1", False, False)]
    assert _srcs(conf, "a.notcorp.example/x:1") == [("a.notcorp.example/x:1", False, False)]
    # the longer non-wildcard prefix beats the wildcard's host for its own names only
    with pytest.raises(RegistryError, match="pull x.corp.example/team/app:1: registry x.corp.example/team/app is "
                                            "blocked in registries.conf"):
        conf.sources(reference.parse("x.corp.example/team/app:1"))
    assert _srcs(conf, "x.corp.example/team/other:1")[-1] == ("x.corp.example/team/other:1", True, False)
    entry, matched = conf.match(reference.parse("a.corp.example/x/y:1")) or (None, "")
    assert matched == "a.corp.example" and entry is conf.registries[0]


def test_pull_from_mirror_kinds() -> None:
    conf = RegistriesConf.from_dict({"registry": [{"location": "o.example", "mirror": [
        {"location": "all.example/m"},
        {"location": "dig.example/m", "pull-from-mirror": "digest-only"},
        {"location": "tag.example/m", "pull-from-mirror": "tag-only"}]}]})
    assert _srcs(conf, "o.example/a/b:1") == [("all.example/m/a/b:1", False, True),
                                              ("tag.example/m/a/b:1", False, True), ("o.example/a/b:1", False, False)]
    assert [s[0] for s in _srcs(conf, f"o.example/a/b@{DIGEST}")] == [
        f"all.example/m/a/b@{DIGEST}", f"dig.example/m/a/b@{DIGEST}", f"o.example/a/b@{DIGEST}"]
    # tag and digest together: the digest decides
    assert [s[0] for s in _srcs(conf, f"o.example/a/b:1@{DIGEST}")] == [
        f"all.example/m/a/b:1@{DIGEST}", f"dig.example/m/a/b:1@{DIGEST}", f"o.example/a/b:1@{DIGEST}"]


def test_rewrites_keep_tag_and_digest_and_read_hosts_like_references() -> None:
    conf = RegistriesConf.from_dict({"registry": [{"prefix": "docker.io/library", "location": "docker.io/library",
                                                   "mirror": [{"location": "localhost/hub"},
                                                              {"location": "plainname/hub"},
                                                              {"location": "127.0.0.1:5000/hub"}]}]})
    assert [s[0] for s in _srcs(conf, f"nginx:1.25@{DIGEST}")] == [
        f"localhost/hub/nginx:1.25@{DIGEST}", f"docker.io/plainname/hub/nginx:1.25@{DIGEST}",
        f"127.0.0.1:5000/hub/nginx:1.25@{DIGEST}", f"docker.io/library/nginx:1.25@{DIGEST}"]
    src = conf.sources(reference.parse("nginx"))[0]
    assert src == Source(reference.parse("localhost/hub/nginx:latest"), False, True)


def test_mirror_needs_a_repository_path() -> None:
    conf = RegistriesConf.from_dict({"registry": [{"prefix": "docker.io/library/nginx",
                                                   "mirror": [{"location": "mirror.example"}]}]})
    with pytest.raises(RegistryError, match="rewrite docker.io/library/nginx:1 to mirror.example: mirror location "
                                            "needs a repository path"):
        conf.sources(reference.parse("nginx:1"))
    bad = RegistriesConf.from_dict({"registry": [{"prefix": "docker.io", "mirror": [{"location": "Bad Host/x"}]}]})
    with pytest.raises(RegistryError, match="rewrite docker.io/library/nginx:1 to Bad Host/x/library/nginx: "):
        bad.sources(reference.parse("nginx:1"))


@pytest.mark.parametrize("doc,error", [
    ({"registry": {"location": "a"}}, "read registries file W: \\[\\[registry\\]\\] must be an array of tables"),
    ({"registry": ["x"]}, "read registries file W: registry #1 is not a table"),
    ({"registry": [{"location": "a"}, {"insecure": True}]}, "read registries file W: registry #2 needs a location "
                                                            "or prefix"),
    ({"registry": [{"location": "/"}]}, "registry #1 needs a location or prefix"),
    ({"registry": [{"location": "a.example", "mirror": [{"insecure": True}]}]},
     "read registries file W: mirror of a.example needs a location"),
    ({"registry": [{"location": "a.example", "mirror": ["m.example/x"]}]}, "mirror of a.example needs a location"),
    ({"registry": [{"location": "a.example", "mirror": [{"location": "m.example/x", "pull-from-mirror": "some"}]}]},
     "read registries file W: mirror m.example/x: pull-from-mirror must be all, digest-only or tag-only"),
])
def test_bad_documents(doc: dict[str, object], error: str) -> None:
    with pytest.raises(RegistryError, match=error):
        RegistriesConf.from_dict(doc, "W")


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="registries.conf: registry #1 needs"):
        RegistriesConf.from_dict({"registry": [{}]})
    f = tmp_path / "r.conf"
    f.write_text('[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\npull-from-mirror = "all"\n')
    with pytest.raises(RegistryError, match=f"read registries file {f}: mirror of a.example needs a location"):
        RegistriesConf.load(f)
    f.write_bytes(b'[[registry]]\nlocation = "\xff"\n')
    with pytest.raises(RegistryError, match=f"read registries file {f}: "):
        RegistriesConf.load(f)
    with pytest.raises(RegistryError, match=f"read registries file {tmp_path}: "):
        RegistriesConf.load(tmp_path)
    with pytest.raises(RegistryError, match=f"read registries file {tmp_path / 'no'}: not found"):
        RegistriesConf.load(tmp_path / "no")


def test_locations_keep_their_case_and_lose_trailing_slashes_only() -> None:
    conf = RegistriesConf.from_dict({"registry": [
        {"location": "r.exampleX/", "mirror": [{"location": "m.exampleX/"}]},
        {"prefix": "p.exampleX/", "location": "o.example"}]})
    assert [(e.prefix, e.location, [m.location for m in e.mirrors]) for e in conf.registries] == [
        ("r.exampleX", "r.exampleX", ["m.exampleX"]), ("p.exampleX", "o.example", [])]
    assert _srcs(conf, "r.exampleX/a:1") == [("m.exampleX/a:1", False, True), ("r.exampleX/a:1", False, False)]
    assert _srcs(conf, "p.exampleX/a:1") == [("o.example/a:1", False, False)]


def test_entries_after_a_non_matching_wildcard_are_still_considered() -> None:
    conf = RegistriesConf.from_dict({"registry": [{"location": "*.corp.example"},
                                                  {"location": "quay.io", "mirror": [{"location": "m.example/q"}]}]})
    assert _srcs(conf, "quay.io/a/b:1") == [("m.example/q/a/b:1", False, True), ("quay.io/a/b:1", False, False)]


def test_equal_length_matches_first_listed_wins() -> None:
    exact = {"location": "a.corp.example", "mirror": [{"location": "exact.example/m"}]}
    wild = {"location": "*.corp.example", "mirror": [{"location": "wild.example/m"}]}
    first = RegistriesConf.from_dict({"registry": [exact, wild]})
    assert _srcs(first, "a.corp.example/x:1")[0][0] == "exact.example/m/x:1"
    second = RegistriesConf.from_dict({"registry": [wild, exact]})
    assert _srcs(second, "a.corp.example/x:1")[0][0] == "wild.example/m/x:1"


def test_skipped_mirrors_do_not_hide_later_ones() -> None:
    conf = RegistriesConf.from_dict({"registry": [{"location": "o.example", "mirror": [
        {"location": "tag.example/m", "pull-from-mirror": "tag-only"},
        {"location": "dig.example/m", "pull-from-mirror": "digest-only"},
        {"location": "all.example/m"}]}]})
    assert [s[0] for s in _srcs(conf, f"o.example/a@{DIGEST}")] == [
        f"dig.example/m/a@{DIGEST}", f"all.example/m/a@{DIGEST}", f"o.example/a@{DIGEST}"]
    assert [s[0] for s in _srcs(conf, "o.example/a:1")] == ["tag.example/m/a:1", "all.example/m/a:1", "o.example/a:1"]
