"""Table tests: invalid Kubefiles -> KubefileError with the exact line and a key phrase."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sealer.errors import KubefileError, LocatedError, SealerError
from sealer.kubefile import MAX_FILE_BYTES, MAX_LINE_BYTES, parse, parse_file

# (name, input, expected line (None: whole file), key phrase)
BAD: list[tuple[str, str | bytes, int | None, str]] = [
    ("empty file", "", None, "no instructions"),
    ("only comments and blanks", "# a\n\n   \n# b\n", None, "no instructions"),
    ("only a BOM", b"\xef\xbb\xbf", None, "no instructions"),
    ("FROM not first", "# c\nRUN echo hi\nFROM scratch\n", 2, "first instruction must be FROM (only ARG may come before it), found RUN"),
    ("CMD first", "cmd x\n", 1, "found CMD"),
    ("second FROM", "FROM scratch\nRUN x\nFROM kubernetes:v1.19.8\n", 3, "second FROM (the first is at line 1)"),
    ("unknown instruction near miss RUNN", "FROM scratch\nRUNN echo\n", 2, "did you mean RUN?"),
    ("unknown instruction near miss COPPY", "FROM scratch\n\nCOPPY a b\n", 3, "did you mean COPY?"),
    ("unknown instruction near miss FORM", "FORM scratch\n", 1, "did you mean FROM?"),
    ("unknown instruction near miss CDM", "FROM scratch\ncdm x\n", 2, "did you mean CMD?"),
    ("unknown instruction far", "FROM scratch\nXYZZY a\n", 2, "unknown instruction 'XYZZY'"),
    ("ADD not supported", "FROM scratch\nADD a b\n", 2, "ADD is a Dockerfile instruction that Kubefile does not support; use COPY"),
    ("ENV not key=value", "FROM scratch\nenv A\n", 2, "ENV 'A': want key=value"),
    ("ENTRYPOINT not supported", "FROM scratch\nENTRYPOINT x\n", 2, "use CMDS or LAUNCH"),
    ("WORKDIR not supported", "FROM scratch\nWORKDIR /x\n", 2, "WORKDIR is a Dockerfile instruction"),
    ("non-ASCII keyword", "FROM scratch\nRUNſ x\n", 2, "unknown instruction"),
    ("keyword glued by continuation", "FROM\\\nscratch\n", 1, "unknown instruction 'FROMscratch'"),
    ("unknown before FROM", "HELLO\nFROM scratch\n", 1, "unknown instruction 'HELLO'"),
    ("FROM without argument", "FROM\n", 1, "FROM needs a base image"),
    ("FROM with blanks only", "FROM   \t\n", 1, "FROM needs a base image"),
    ("FROM with two words", "FROM a b\n", 1, "FROM takes one image (optionally AS NAME), got 2 words"),
    ("FROM AS without name", "FROM kubernetes:v1 AS\n", 1, "multi-stage builds are not supported"),
    ("FROM flag without image", "FROM --platform=linux/arm64\n", 1, "FROM needs a base image after --platform"),
    ("FROM other flag", "FROM --foo=1 a\n", 1, "FROM takes only --platform=OS/ARCH as a flag"),
    ("FROM bad reference", "# x\nFROM Kubernetes:v1\n", 2, "repository name must be lowercase"),
    ("FROM bad tag", "FROM k8s:v1:\n", 1, "invalid base image"),
    ("FROM bad digest", "FROM k8s@sha256:abc\n", 1, "invalid digest"),
    ("FROM JSON", 'FROM ["k8s"]\n', 1, "invalid base image"),
    ("COPY without argument", "FROM scratch\nCOPY\n", 2, "COPY needs a source"),
    ("COPY empty JSON", "FROM scratch\nCOPY []\n", 2, "COPY needs a source"),
    ("COPY empty path in JSON", 'FROM scratch\nCOPY ["a", ""]\n', 2, "item 2 is an empty path"),
    ("COPY flag", "FROM scratch\nCOPY --chown=1:1 a b\n", 2, "COPY flags are not supported"),
    ("COPY malformed JSON", "FROM scratch\nCOPY [\"a\", 'b']\n", 2, "malformed JSON array"),
    ("COPY JSON non-string", 'FROM scratch\nCOPY ["a", 1]\n', 2, "item 2 is int, not a string"),
    ("RUN without argument", "FROM scratch\nRUN\n", 2, "RUN needs a command"),
    ("CMD with blanks only", "FROM scratch\nCMD \t \n", 2, "CMD needs a command"),
    ("RUN continuation to nothing", "FROM scratch\nRUN \\\n# only a comment\n", 2, "RUN needs a command"),
    ("CMD empty JSON", "FROM scratch\nCMD []\n", 2, "the JSON array is empty"),
    ("CMD empty command", 'FROM scratch\nCMD ["x", " "]\n', 2, "item 2 is an empty command"),
    ("RUN empty program", 'FROM scratch\nRUN ["", "x"]\n', 2, "program name"),
    ("CMD single quotes", "FROM scratch\nCMD ['kubectl', 'apply']\n", 2, "malformed JSON array"),
    ("RUN unquoted JSON", "FROM scratch\nRUN [kubectl, apply]\n", 2, "malformed JSON array"),
    ("RUN trailing comma", 'FROM scratch\nRUN ["a",]\n', 2, "malformed JSON array"),
    ("RUN unterminated JSON", 'FROM scratch\nRUN ["a", "b"\n', 2, "malformed JSON array"),
    ("RUN JSON on a continued line", 'FROM scratch\n\nRUN ["a", \\\n  b]\n', 3, "malformed JSON array"),
    ("RUN JSON nested list", 'FROM scratch\nRUN ["a", ["b"]]\n', 2, "item 2 is list"),
    ("RUN JSON NUL escape", 'FROM scratch\nRUN ["a\\u0000"]\n', 2, "NUL character in item 1"),
    ("RUN JSON lone surrogate", 'FROM scratch\nRUN ["\\ud800"]\n', 2, "unpaired surrogate"),
    ("RUN JSON huge number", "FROM scratch\nRUN [" + "9" * 5000 + "]\n", 2, "too large"),
    ("RUN JSON deep nesting", 'FROM scratch\nRUN ["a",' + "[" * 100_000 + "]" * 100_000 + "]\n", 2,
     "nested too deeply"),
    ("COPY JSON deep nesting", 'FROM scratch\nCOPY ["a",' + "[" * 100_000 + "\n", 2, "nested too deeply"),
    ("NUL byte", b"FROM scratch\nRUN echo \x00\n", 2, "NUL byte"),
    ("NUL byte in a comment", b"FROM scratch\n\n# \x00\n", 3, "NUL byte"),
    ("invalid UTF-8", b"FROM scratch\nRUN ok\nRUN echo \xff\xfe\n", 3, "invalid UTF-8 (byte 0xff at column 10)"),
    ("truncated UTF-8", b"FROM scratch\nRUN \xe2\x82", 2, "invalid UTF-8"),
    ("encoded surrogate", b"FROM scratch\nCMD \xed\xa0\x80\n", 2, "invalid UTF-8"),
    ("lone surrogate in str", "FROM scratch\n\nCMD \ud800\n", 3, "unpaired surrogate U+D800"),
    ("surrogate pair as two str chars", "FROM scratch\nCMD \ud83d\ude00\n", 2, "unpaired surrogate U+D83D"),
    ("BOM in the middle", "FROM scratch\n\ufeffRUN x\n", 2, "unknown instruction"),
]


@pytest.mark.parametrize(("name", "data", "line", "phrase"), BAD, ids=[b[0] for b in BAD])
def test_bad(name: str, data: str | bytes, line: int | None, phrase: str) -> None:
    with pytest.raises(KubefileError) as info:
        parse(data, filename="ctx/Kubefile")
    err = info.value
    assert err.line == line, str(err)
    assert err.file == "ctx/Kubefile"
    assert phrase in err.message, str(err)
    where = f"ctx/Kubefile:{line}: " if line is not None else "ctx/Kubefile: "
    assert str(err) == where + err.message
    assert isinstance(err, LocatedError) and isinstance(err, SealerError)
    assert len(str(err)) < 400  # bounded even for huge inputs


def test_error_names_the_first_line_of_a_continued_instruction() -> None:
    with pytest.raises(KubefileError) as info:
        parse("FROM scratch\n# c\nRUNX a \\\n b \\\n c\n")
    assert info.value.line == 3


def test_long_line_refused_with_its_number() -> None:
    ok = "FROM scratch\nRUN " + "x" * (MAX_LINE_BYTES - 4) + "\n"
    assert len(parse(ok).steps[0].text) == MAX_LINE_BYTES
    bad = "FROM scratch\n\nRUN " + "x" * MAX_LINE_BYTES + "\nCMD y\n"
    with pytest.raises(KubefileError) as info:
        parse(bad)
    assert info.value.line == 3 and "longer than 1 MiB" in info.value.message


def test_multibyte_long_line_measured_in_bytes() -> None:
    bad = "FROM scratch\nRUN " + "é" * (MAX_LINE_BYTES // 2) + "\n"
    with pytest.raises(KubefileError) as info:
        parse(bad)
    assert info.value.line == 2


def test_huge_file_refused_quickly() -> None:
    data = b"FROM scratch\n" + b"RUN x\n" * (MAX_FILE_BYTES // 6 + 1)
    start = time.monotonic()
    with pytest.raises(KubefileError) as info:
        parse(data)
    assert time.monotonic() - start < 2
    assert info.value.line is None and "larger than 16 MiB" in info.value.message
    with pytest.raises(KubefileError):
        parse(data.decode())


def test_deep_continuation_is_linear() -> None:
    data = "FROM scratch\nRUN echo \\\n" + "a \\\n" * 10_000 + "end\nCMD done\n"
    start = time.monotonic()
    kf = parse(data)
    assert time.monotonic() - start < 2
    run, cmd = kf.steps
    assert run.location.line == 2 and run.location.end_line == 10_003
    assert run.text == "RUN echo " + "a " * 10_000 + "end"
    assert cmd.location.line == 10_004


def test_many_continuation_comments_and_blank_lines() -> None:
    data = "FROM scratch\nRUN a \\\n" + "# c\n\n" * 10_000 + "b\n"
    assert parse(data).steps[0].text == "RUN a b"


def test_parse_file_errors(tmp_path: Path) -> None:
    with pytest.raises(KubefileError) as info:
        parse_file(tmp_path / "missing")
    assert "read Kubefile" in str(info.value) and str(tmp_path / "missing") in str(info.value)
    with pytest.raises(KubefileError) as info:
        parse_file(tmp_path)
    assert "read Kubefile" in str(info.value)
    bad = tmp_path / "Kubefile"
    bad.write_text("FROM scratch\nRUNN x\n")
    with pytest.raises(KubefileError) as info:
        parse_file(os.fspath(bad))
    assert str(info.value) == f"{bad}:2: unknown instruction 'RUNN': did you mean RUN?"


def test_parse_file_too_large_reads_bounded(tmp_path: Path) -> None:
    big = tmp_path / "Kubefile"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES * 4)  # sparse: 64 MiB of NULs
    with pytest.raises(KubefileError) as info:
        parse_file(big)
    assert "larger than 16 MiB" in info.value.message


def test_wrong_type_is_a_kubefile_error() -> None:
    with pytest.raises(KubefileError):
        parse(123)  # type: ignore[arg-type]
