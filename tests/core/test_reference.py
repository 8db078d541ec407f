"""sealer.reference against docker's normalisation rules (vectors from distribution/reference's own tests:
normalize_test.go / reference_test.go — familiar names, localhost, ports, legacy index, digests)."""

from __future__ import annotations

import pytest

from sealer.digest import Digest
from sealer.errors import ReferenceError_
from sealer.reference import Reference, is_valid, normalize, parse, split_domain

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(("text", "full"), [
    ("ubuntu", "docker.io/library/ubuntu:latest"),
    ("library/ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
    ("index.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest"),
    ("index.docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
    ("docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
    ("foo/bar", "docker.io/foo/bar:latest"),
    ("foo.bar", "docker.io/library/foo.bar:latest"),            # a dot without a slash is a name, not a host
    ("foo:5000", "docker.io/library/foo:5000"),                  # ...and a colon without a slash is a tag
    ("localhost/foo", "localhost/foo:latest"),
    ("localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1"),
    ("Foo/bar", "Foo/bar:latest"),                               # an upper-case first component is a host
    ("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t"),
    ("[::1]:5000/a:t", "[::1]:5000/a:t"),
    (f"nginx@{D}", f"docker.io/library/nginx@{D}"),
    (f"nginx:1.25@{D}", f"docker.io/library/nginx:1.25@{D}"),
    ("  quay.io/x/y:z \n", "quay.io/x/y:z"),
])
def test_normalisation(text: str, full: str) -> None:
    assert normalize(text) == full and str(parse(text)) == full and is_valid(text)


def test_split_domain() -> None:
    assert split_domain("nginx") == ("docker.io", "library/nginx")
    assert split_domain("localhost/x") == ("localhost", "x")
    assert split_domain("my.reg/x/y") == ("my.reg", "x/y")
    assert split_domain("reg:1/x") == ("reg:1", "x")
    assert split_domain("a/b") == ("docker.io", "a/b")


def test_fields_and_identifier() -> None:
    r = parse("nginx")
    assert (r.domain, r.path, r.tag, r.digest) == ("docker.io", "library/nginx", "latest", None)
    assert r.repository == r.name == "docker.io/library/nginx"
    assert r.identifier == "latest"
    pinned = parse(f"nginx:1@{D}")
    assert pinned.identifier == D
    bare = parse("nginx", default_tag=False)
    assert bare.tag is None and bare.identifier == "latest" and str(bare) == "docker.io/library/nginx"


def test_with_digest_keeps_the_tag_and_the_original() -> None:
    r = parse("nginx:1")
    d = r.with_digest(Digest(D))
    assert d.tag == "1" and str(d.digest) == D and str(d) == f"docker.io/library/nginx:1@{D}"
    assert isinstance(d, Reference) and r.digest is None   # frozen: the original is unchanged


@pytest.mark.parametrize(("text", "message"), [
    ("", "parse reference '': empty"),
    ("   ", "parse reference '': empty"),
    ("a b", "contains whitespace"),
    ("nginx@sha256:abc", "invalid digest 'sha256:abc'"),
    (f"a@{D}@{D}", "invalid digest"),
    ("nginx:-bad", "invalid tag '-bad'"),
    (":tag", "missing repository name"),
    ("a/b:c/d", "invalid repository name 'a/b:c/d'"),
    ("-bad.host/x", "invalid registry host '-bad.host'"),
    ("docker.io/library/Nginx", "repository name must be lowercase"),
    ("localhost/NGINX", "repository name must be lowercase"),
    ("docker.io/library/Bad!", "invalid repository name 'library/Bad!'"),
    ("docker.io/library/a-", "invalid repository name 'library/a-'"),
])
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ReferenceError_) as e:
        parse(text)
    assert message in str(e.value)
    assert str(e.value).startswith("parse reference ")
    assert not is_valid(text)


def test_not_a_string() -> None:
    with pytest.raises(ReferenceError_, match=r"^parse reference 5: not a string$"):
        parse(5)  # type: ignore[arg-type]


def test_name_length_limit_is_255_including_the_slash() -> None:
    ok = "localhost/" + "a" * 245                          # 9 + 1 + 245 = 255
    assert str(parse(ok)) == ok + ":latest"
    with pytest.raises(ReferenceError_, match=r"repository name longer than 255$"):
        parse(ok + "a")
