"""Property tests: parse never raises anything but KubefileError; render -> parse round trips."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sealer.errors import KubefileError
from sealer.kubefile import Cmd, Copy, From, Instruction, Kubefile, Location, Run, parse

BLANKS = " \t\r\f\v"
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_error(data: str | bytes) -> Kubefile | None:
    try:
        return parse(data, filename="K")
    except KubefileError as e:
        assert e.file == "K" and (e.line is None or e.line >= 1)
        assert str(e).startswith("K:" if e.line is not None else "K: ")
        return None


def _stable(kf: Kubefile | None) -> None:
    """A parsed Kubefile's canonical text parses back to the same instruction texts."""
    if kf is None:
        return
    assert isinstance(kf.instructions[0], From)
    assert sum(isinstance(i, From) for i in kf.instructions) == 1
    again = parse(kf.text, filename="K")
    assert [i.text for i in again.instructions] == [i.text for i in kf.instructions]


# -- never crash -------------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _stable(_parse_or_error(data))


@FAST
@given(st.one_of(st.text(max_size=300),
                 st.text(st.characters(categories=["Cs", "Cc", "Zs", "Zl", "Lu", "Po"]), max_size=100)))
def test_arbitrary_text(data: str) -> None:
    _stable(_parse_or_error(data))


_PIECES = st.sampled_from([
    "FROM", "COPY", "RUN", "CMD", "from", "cmd", "ADD", "RUNN", "scratch", "k8s:v1", "localhost:5000/a",
    " ", "\t", "\r", "\n", "\r\n", "\\", "\\\n", "#", "[", "]", '"', "'", ",", '["a"]', "[1]", "\\u0000",
    "\x00", "\ufeff", "\u2028", "\x85", "--x", "AS", "a", "b/", ".",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.booleans())
def test_token_soup(pieces: list[str], as_bytes: bool) -> None:
    text = "".join(pieces)
    _stable(_parse_or_error(text.encode("utf-8") if as_bytes else text))


@FAST
@given(st.lists(_PIECES, max_size=30), st.binary(min_size=1, max_size=4), st.integers(min_value=0))
def test_invalid_bytes_anywhere(pieces: list[str], junk: bytes, where: int) -> None:
    raw = "".join(pieces).encode()
    pos = where % (len(raw) + 1)
    _parse_or_error(raw[:pos] + junk + raw[pos:])


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["a \\\n", "# c\n", "\n", "\\\n", " \\ \n"]))
def test_deep_continuations(depth: int, line: str) -> None:
    _stable(_parse_or_error("FROM scratch\nRUN x \\\n" + line * depth))


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=100_000), st.sampled_from(["RUN", "CMD", "COPY"]),
       st.sampled_from(['["a",', "[", "[x", '[["']))
def test_deep_json(depth: int, keyword: str, head: str) -> None:
    _stable(_parse_or_error(f"FROM scratch\n{keyword} {head}" + "[" * depth + "]" * depth + "]"))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xb0\x80"]))
def test_hostile_bytes_after_valid_head(tail: bytes, poison: bytes) -> None:
    _parse_or_error(b"FROM scratch\nRUN echo " + poison + tail)


# -- round trip --------------------------------------------------------------------------------

def _loc(line: int) -> Location:
    return Location("K", line, line)


_LOWER = string.ascii_lowercase + string.digits
_COMPONENT = st.text(_LOWER, min_size=1, max_size=8)
_NAME = st.lists(_COMPONENT, min_size=1, max_size=3).map("/".join)
_TAG = st.builds(lambda a, b: a + b, st.text(_LOWER, min_size=1, max_size=1), st.text(_LOWER + "._-", max_size=12))
_IMAGE = st.one_of(
    st.just("scratch"),
    st.builds(lambda n, t: f"{n}:{t}", _NAME, _TAG),
    st.builds(lambda n: f"localhost:5000/{n}", _NAME),
    st.builds(lambda n, h: f"{n}@sha256:{h}", _NAME, st.text("0123456789abcdef", min_size=64, max_size=64)),
)
_NO_NUL = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
_WORD = st.text(_NO_NUL, min_size=1, max_size=12)
_PLAIN_WORD = st.text(string.ascii_letters + string.digits + "./_-*?", min_size=1, max_size=12)
_ARG = st.text(_NO_NUL, max_size=12)


def _as_shell_command(s: str) -> str:
    """Turn any text into a command that a single Kubefile line can hold."""
    s = s.replace("\n", " ")
    while s != (t := s.strip(BLANKS).lstrip("[").rstrip("\\")):
        s = t
    return s or "true"


_COMMAND = st.text(_NO_NUL, min_size=1, max_size=40).map(_as_shell_command)


def _instruction(kind: str, line: int, data: st.DataObject) -> Instruction:
    if kind == "COPY":
        words = data.draw(st.lists(st.one_of(_WORD, _PLAIN_WORD), min_size=2, max_size=5))
        return Copy(sources=tuple(words[:-1]), dest=words[-1], location=_loc(line))
    cls = Run if kind == "RUN" else Cmd
    if data.draw(st.booleans()):
        return cls(command=data.draw(_COMMAND), argv=None, location=_loc(line))
    if cls is Cmd:   # sealer's JSON CMD: a list of shell commands, none blank
        argv = data.draw(st.lists(_ARG.filter(lambda c: c.strip(BLANKS) != ""), min_size=1, max_size=5))
    else:
        argv = data.draw(st.lists(_ARG, min_size=1, max_size=5).filter(lambda a: a[0] != ""))
    return cls(command=None, argv=tuple(argv), location=_loc(line))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_round_trip(data: st.DataObject) -> None:
    kinds = data.draw(st.lists(st.sampled_from(["COPY", "RUN", "CMD"]), max_size=8))
    image = data.draw(_IMAGE)
    instructions: list[Instruction] = [From(image=image, location=_loc(1))]
    instructions += [_instruction(kind, n, data) for n, kind in enumerate(kinds, start=2)]
    kf = Kubefile(instructions=tuple(instructions), filename="K")
    assert parse(kf.text, filename="K") == kf
    assert parse(kf.text.encode("utf-8"), filename="K") == kf


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_round_trip_with_decoration(data: st.DataObject) -> None:
    """Comments, blank lines, CRLF, indentation and keyword case do not change the instructions."""
    kinds = data.draw(st.lists(st.sampled_from(["COPY", "RUN", "CMD"]), max_size=6))
    plain: list[Instruction] = [From(image=data.draw(_IMAGE), location=_loc(1))]
    plain += [_instruction(kind, 1, data) for kind in kinds]
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    out: list[str] = []
    lines: list[int] = []
    for inst in plain:
        for _ in range(data.draw(st.integers(0, 2))):
            out.append(data.draw(st.sampled_from(["", "# comment", "   # indented", "\t", "#"])))
        keyword, rest = inst.text.split(" ", 1)
        keyword = data.draw(st.sampled_from([keyword, keyword.lower(), keyword.title()]))
        indent = data.draw(st.sampled_from(["", " ", "\t "]))
        out.append(f"{indent}{keyword}{data.draw(st.sampled_from([' ', '  ', chr(9)]))}{rest}")
        lines.append(len(out))
    kf = parse(newline.join(out) + newline, filename="K")
    assert [i.text for i in kf.instructions] == [i.text for i in plain]
    assert [i.location.line for i in kf.instructions] == lines


@settings(max_examples=200, deadline=None)
@given(_COMMAND, st.lists(st.integers(min_value=0, max_value=40), max_size=4), st.sampled_from(["RUN", "CMD"]))
def test_continuation_splits_join_back(command: str, cuts: list[int], keyword: str) -> None:
    points = sorted({c % (len(command) + 1) for c in cuts})
    parts = [command[a:b] for a, b in zip([0, *points], [*points, len(command)], strict=True)]
    assume(all(p.strip(BLANKS) and not p.lstrip(BLANKS).startswith("#") for p in parts[1:]))
    assume(not any(p.rstrip(BLANKS) != p and p.rstrip(BLANKS).endswith("\\") for p in parts[:-1]))
    text = f"FROM scratch\n{keyword} " + "\\\n".join(parts) + "\n"
    (step,) = parse(text).steps
    assert step.text == f"{keyword} {command}"
    assert (step.location.line, step.location.end_line) == (2, 1 + len(parts))


@FAST
@given(st.lists(_ARG.filter(lambda c: c.strip(BLANKS) != ""), min_size=1, max_size=6))
def test_exec_text_is_compact_json(argv: list[str]) -> None:
    cmd = Cmd(command=None, argv=tuple(argv), location=_loc(2))
    assert cmd.text == "CMD " + json.dumps(argv, ensure_ascii=False, separators=(",", ":"))
    assert parse("FROM scratch\n" + cmd.text, filename="K").cmds == (cmd,)
