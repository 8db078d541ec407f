"""Table tests: valid Kubefiles -> the exact typed instructions (texts and line numbers)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from sealer.kubefile import Cmd, Copy, From, Kubefile, Location, Run, parse, parse_file

SPEC_EXAMPLE = """\
FROM registry.cn-qingdao.aliyuncs.com/sealer-io/kubernetes:v1.19.8
# download kubernetes dashboard yaml file
RUN wget https://raw.githubusercontent.com/kubernetes/dashboard/v2.2.0/aio/deploy/recommended.yaml
# when run this CloudImage, will apply a dashboard manifests
CMD kubectl apply -f recommended.yaml
"""

SPEC_LITE = """\
FROM kubernetes:v1.19.8
COPY imageList manifests
COPY apollo charts
COPY helm /bin
CMD helm install charts/apollo
COPY recommended.yaml manifests
CMD kubectl apply -f manifests/recommended.yaml
"""

SPEC_CLOUD = "FROM kubernetes:v1.19.8\nCOPY recommended.yaml .\nCMD kubectl apply -f recommended.yaml\n"
SPEC_REGISTRY = "FROM kubernetes:v1.19.8\nCOPY registry_config.yaml etc/\n"
SPEC_ARM = "FROM registry.cn-beijing.aliyuncs.com/sealer-io/kubernetes-arm64:v1.19.7\n"

# (name, Kubefile text, [(canonical text, line, end_line), ...])
GOOD: list[tuple[str, str, list[tuple[str, int, int]]]] = [
    ("spec example", SPEC_EXAMPLE, [
        ("FROM registry.cn-qingdao.aliyuncs.com/sealer-io/kubernetes:v1.19.8", 1, 1),
        ("RUN wget https://raw.githubusercontent.com/kubernetes/dashboard/v2.2.0/aio/deploy/recommended.yaml",
         3, 3),
        ("CMD kubectl apply -f recommended.yaml", 5, 5),
    ]),
    ("spec lite example", SPEC_LITE, [
        ("FROM kubernetes:v1.19.8", 1, 1),
        ("COPY imageList manifests", 2, 2),
        ("COPY apollo charts", 3, 3),
        ("COPY helm /bin", 4, 4),
        ("CMD helm install charts/apollo", 5, 5),
        ("COPY recommended.yaml manifests", 6, 6),
        ("CMD kubectl apply -f manifests/recommended.yaml", 7, 7),
    ]),
    ("spec cloud example", SPEC_CLOUD, [
        ("FROM kubernetes:v1.19.8", 1, 1), ("COPY recommended.yaml .", 2, 2),
        ("CMD kubectl apply -f recommended.yaml", 3, 3),
    ]),
    ("spec registry config", SPEC_REGISTRY, [
        ("FROM kubernetes:v1.19.8", 1, 1), ("COPY registry_config.yaml etc/", 2, 2),
    ]),
    ("spec arm64 base", SPEC_ARM, [
        ("FROM registry.cn-beijing.aliyuncs.com/sealer-io/kubernetes-arm64:v1.19.7", 1, 1),
    ]),
    ("scratch any case", "from SCRATCH\n", [("FROM scratch", 1, 1)]),
    ("keywords case-insensitive", "From scratch\ncopy a b\nRun echo hi\ncMd echo bye\n", [
        ("FROM scratch", 1, 1), ("COPY a b", 2, 2), ("RUN echo hi", 3, 3), ("CMD echo bye", 4, 4),
    ]),
    ("copy dest defaults to .", "FROM scratch\nCOPY a\n", [("FROM scratch", 1, 1), ("COPY a .", 2, 2)]),
    ("copy several sources", "FROM scratch\nCOPY a b c dir/\n", [
        ("FROM scratch", 1, 1), ("COPY a b c dir/", 2, 2),
    ]),
    ("copy JSON form", 'FROM scratch\nCOPY ["my file", "etc/"]\n', [
        ("FROM scratch", 1, 1), ('COPY ["my file","etc/"]', 2, 2),
    ]),
    ("copy JSON plain words renders plain", 'FROM scratch\nCOPY ["a","b"]\n', [
        ("FROM scratch", 1, 1), ("COPY a b", 2, 2),
    ]),
    ("copy glob with brackets stays shell form", "FROM scratch\nCOPY [ab].txt dir/\n", [
        ("FROM scratch", 1, 1), ('COPY ["[ab].txt","dir/"]', 2, 2),
    ]),
    ("exec forms", 'FROM scratch\nRUN ["echo", "hi there"]\nCMD ["kubectl","apply"]\n', [
        ("FROM scratch", 1, 1), ('RUN ["echo","hi there"]', 2, 2), ('CMD ["kubectl","apply"]', 3, 3),
    ]),
    ("exec form with blanks inside brackets", 'FROM scratch\nCMD [ "a" , "b" ]\n', [
        ("FROM scratch", 1, 1), ('CMD ["a","b"]', 2, 2),
    ]),
    ("shell test command is not JSON", "FROM scratch\nRUN [ -f x ] && echo y\nRUN [[ -d d ]]\nRUN [ -f x ]\n", [
        ("FROM scratch", 1, 1), ("RUN [ -f x ] && echo y", 2, 2), ("RUN [[ -d d ]]", 3, 3),
        ("RUN [ -f x ]", 4, 4),
    ]),
    ("comments and blank lines", "\n# head\n   # indented comment\nFROM scratch\n\n\t\nRUN echo a # not a comment\n", [
        ("FROM scratch", 4, 4), ("RUN echo a # not a comment", 7, 7),
    ]),
    ("continuation", "FROM scratch\nRUN echo a \\\n    b \\\n    c\nCMD x\n", [
        ("FROM scratch", 1, 1), ("RUN echo a     b     c", 2, 4), ("CMD x", 5, 5),
    ]),
    ("comments and blank lines inside a continuation", "FROM scratch\nRUN echo a \\\n# skipped\n\n  b\n", [
        ("FROM scratch", 1, 1), ("RUN echo a   b", 2, 5),
    ]),
    ("continuation with blanks after the backslash", "FROM scratch\nRUN a \\  \t\nb\n", [
        ("FROM scratch", 1, 1), ("RUN a b", 2, 3),
    ]),
    ("continuation at end of file", "FROM scratch\nRUN echo a \\", [("FROM scratch", 1, 1), ("RUN echo a", 2, 2)]),
    ("continuation then only comments at end", "FROM scratch\nRUN echo a \\\n# c\n", [
        ("FROM scratch", 1, 1), ("RUN echo a", 2, 2),
    ]),
    ("keyword continued", "FROM scratch\nRUN \\\n echo hi\n", [("FROM scratch", 1, 1), ("RUN echo hi", 2, 3)]),
    ("CRLF", "FROM scratch\r\nRUN echo a \\\r\n b\r\nCMD c\r\n", [
        ("FROM scratch", 1, 1), ("RUN echo a  b", 2, 3), ("CMD c", 4, 4),
    ]),
    ("BOM", "\ufeffFROM scratch\nCMD c\n", [("FROM scratch", 1, 1), ("CMD c", 2, 2)]),
    ("no trailing newline", "FROM scratch\nCMD c", [("FROM scratch", 1, 1), ("CMD c", 2, 2)]),
    ("leading indentation and tabs", "  FROM\tscratch\n\tRUN\t echo\t\n", [("FROM scratch", 1, 1), ("RUN echo", 2, 2)]),
    ("several CMDs in order", 'FROM scratch\nCMD one\nRUN r\nCMD two\nCMD ["three"]\n', [
        ("FROM scratch", 1, 1), ("CMD one", 2, 2), ("RUN r", 3, 3), ("CMD two", 4, 4), ('CMD ["three"]', 5, 5),
    ]),
    ("base with port and digest", "FROM localhost:5000/ns/k8s:v1@sha256:" + "a" * 64 + "\n", [
        ("FROM localhost:5000/ns/k8s:v1@sha256:" + "a" * 64, 1, 1),
    ]),
    ("unicode arguments", "FROM scratch\nRUN echo héllo ✓\nCMD [\"echo\",\"日本\"]\n", [
        ("FROM scratch", 1, 1), ("RUN echo héllo ✓", 2, 2), ('CMD ["echo","日本"]', 3, 3),
    ]),
]


@pytest.mark.parametrize(("name", "text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_good(name: str, text: str, expected: list[tuple[str, int, int]]) -> None:
    kf = parse(text, filename="dir/Kubefile")
    got = [(i.text, i.location.line, i.location.end_line) for i in kf.instructions]
    assert got == expected
    assert all(i.location.file == "dir/Kubefile" for i in kf.instructions)
    # bytes give the same result as str, and the canonical text parses back to the same texts.
    assert [i.text for i in parse(text.encode("utf-8")).instructions] == [e[0] for e in expected]
    assert [i.text for i in parse(kf.text).instructions] == [e[0] for e in expected]


def test_lite_example_typed() -> None:
    kf = parse(SPEC_LITE)
    assert kf.base == From(image="kubernetes:v1.19.8", location=Location("Kubefile", 1, 1))
    assert str(kf.base.reference) == "docker.io/library/kubernetes:v1.19.8"
    assert not kf.base.is_scratch
    assert kf.steps[0] == Copy(sources=("imageList",), dest="manifests", location=Location("Kubefile", 2, 2))
    assert kf.steps[2] == Copy(sources=("helm",), dest="/bin", location=Location("Kubefile", 4, 4))
    assert [c.command for c in kf.cmds] == ["helm install charts/apollo", "kubectl apply -f manifests/recommended.yaml"]
    assert [c.location.line for c in kf.cmds] == [5, 7]
    assert len(kf.steps) == 6
    assert kf.filename == "Kubefile"
    assert str(kf.cmds[0].location) == "Kubefile:5"


def test_run_and_cmd_shapes() -> None:
    kf = parse('FROM scratch\nRUN echo "a b" | tr a b\nRUN ["sh", "-c", "echo $HOME", "it\'s"]\nCMD ["x"]\n')
    shell, exec_, cmd = kf.steps
    assert isinstance(shell, Run) and isinstance(exec_, Run) and isinstance(cmd, Cmd)
    assert shell.command == 'echo "a b" | tr a b' and shell.argv is None and not shell.is_exec
    assert shell.shell_line == 'echo "a b" | tr a b'
    assert exec_.command is None and exec_.argv == ("sh", "-c", "echo $HOME", "it's")
    assert exec_.is_exec
    assert shlex.split(exec_.shell_line) == ["sh", "-c", "echo $HOME", "it's"]
    assert cmd.keyword == "CMD" and cmd.argv == ("x",)
    as_run: object = Run(command="x", argv=None, location=shell.location)
    assert as_run != Cmd(command="x", argv=None, location=shell.location)


def test_copy_json_sources_kept_raw() -> None:
    kf = parse('FROM scratch\nCOPY ["../up", "/abs", "with space", "--dash", "dest dir/"]\n')
    (copy,) = kf.steps
    assert isinstance(copy, Copy)
    assert copy.sources == ("../up", "/abs", "with space", "--dash") and copy.dest == "dest dir/"
    assert parse(kf.text).steps[0] == Copy(copy.sources, copy.dest, Location("Kubefile", 2, 2))


def test_kubefile_properties() -> None:
    kf = parse("FROM scratch\nCMD a\nCOPY x\nCMD b\n")
    assert kf.base.is_scratch and kf.base.reference is None
    assert [s.keyword for s in kf.steps] == ["CMD", "COPY", "CMD"]
    assert [c.text for c in kf.cmds] == ["CMD a", "CMD b"]
    assert kf.text == "FROM scratch\nCMD a\nCOPY x .\nCMD b\n"
    assert isinstance(kf, Kubefile)


def test_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "Kubefile"
    path.write_bytes(b"\xef\xbb\xbfFROM scratch\r\nCOPY helm ./bin\r\n")
    kf = parse_file(path)
    assert kf.filename == str(path)
    assert kf.steps[0].location == Location(str(path), 2, 2)
    assert kf.steps[0].text == "COPY helm ./bin"
