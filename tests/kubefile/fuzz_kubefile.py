#!/usr/bin/env python3
"""Fuzz target for the Kubefile parser.

    python tests/kubefile/fuzz_kubefile.py N [--seed S] [--show K]

Runs N random inputs (mutated valid Kubefiles, token soups, raw random bytes, and now and then
huge lines, deep continuations, deep JSON nesting) through ``sealer.kubefile.parse``. A *crash*
is any exception other than ``KubefileError``, a ``KubefileError`` without a sane ``FILE:LINE``,
or a parsed Kubefile that breaks an invariant (FROM first and only once; its canonical text
parses back to the same instruction texts). Prints ``cases: N crashes: K`` and exits 1 when K > 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable

from sealer.errors import KubefileError
from sealer.kubefile import MAX_FILE_BYTES, MAX_LINE_BYTES, From, Kubefile, parse

FILENAME = "fuzz/Kubefile"

CORPUS: list[bytes] = [
    b"FROM registry.cn-qingdao.aliyuncs.com/sealer-io/kubernetes:v1.19.8\n# download\n"
    b"RUN wget https://example.com/recommended.yaml\nCMD kubectl apply -f recommended.yaml\n",
    b"FROM kubernetes:v1.19.8\nCOPY imageList manifests\nCOPY apollo charts\nCOPY helm /bin\n"
    b"CMD helm install charts/apollo\nCOPY recommended.yaml manifests\nCMD kubectl apply -f manifests/recommended.yaml\n",
    b'FROM scratch\nCOPY ["a b", "c"]\nRUN ["sh", "-c", "echo hi"]\nCMD ["kubectl","apply"]\n',
    b"from SCRATCH\r\nrun echo a \\\r\n  # c\r\n\r\n  b\r\ncmd [ -f x ] && echo y\r\n",
    b"\xef\xbb\xbfFROM localhost:5000/ns/k8s:v1@sha256:" + b"a" * 64 + b"\nCOPY a\nCOPY a b c dir/\n",
    b'ARG T=v1\nFROM k8s:${T}\nENV A=1 B="x y"\nLABEL "a.b/c"="d"\nKUBEVERSION >=1.20\nCOPY ${ARCH}/bin bin\n'
    b'APP a local://x.yaml\nCNI c local://c.sh\nAPPENV a K=V\nAPPCMDS a ["kubectl apply -f x.yaml"]\n'
    b'LAUNCH ["a","c"]\n',
    b'FROM scratch\nCOPY app.yaml manifests/\nCMDS ["kubectl apply -f manifests/app.yaml"]\n',
    b"FROM scratch\nRUN echo \xc3\xa9 \xe2\x9c\x93 # literal\nCMD [\"\\u00e9\", \"\\n\"]\n",
]

TOKENS: list[bytes] = [
    b"FROM", b"COPY", b"RUN", b"CMD", b"from", b"copy", b"run", b"cmd", b"ADD", b"ENV", b"RUNN", b"COPPY",
    b"scratch", b"SCRATCH", b"kubernetes:v1.19.8", b"localhost:5000/a/b", b"@sha256:", b"a" * 64, b" AS x",
    b"--chown=1:1", b"--platform=linux/arm64", b" ", b"  ", b"\t", b"\r", b"\n", b"\r\n", b"\\", b"\\\n",
    b"\\ \n", b"#", b"# comment\n", b"[", b"]", b"[]", b"[ ", b'["', b'"', b"'", b",", b'"a"', b'["a","b"]',
    b"[1]", b"[null]", b"[[", b"]]", b"{}", b"\\u0000", b"\\ud800", b"\\n", b"\x00", b"\xff", b"\xfe",
    b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xc2\x85", b"\x0b", b"\x0c", b"\x1c",
    b"\xc5\xbf", b"9" * 5000, b".", b"..", b"/", b"./bin", b"etc/", b"*.yaml",
    # sealer v0.9
    b"ARG", b"LABEL", b"KUBEVERSION", b"APP", b"APPCMDS", b"APPENV", b"CNI", b"CSI", b"LAUNCH", b"CMDS",
    b"MAINTAINER", b" a ", b"local://", b"http://", b"local://x.yaml", b"k=v", b"=", b"$", b"${", b"}", b"${A}",
    b"$ARCH", b"${ARCH}", b"${A:-d}", b"${A:?m}", b"A=1,B=2", b'"k"="v"',
]

_PRINTABLE = bytes(range(32, 127)) + b"\t\n"


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(min(rng.randint(1, 8), rng.randint(1, 8))):
        op = rng.randrange(7)
        pos = rng.randint(0, len(buf))
        if op == 0:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 1:
            n = rng.randint(1, 8)
            buf[pos:pos] = rng.randbytes(n) if rng.random() < 0.3 else bytes(rng.choices(_PRINTABLE, k=n))
        elif op == 2 and buf:
            end = min(len(buf), pos + rng.randint(1, 16))
            del buf[pos:end]
        elif op == 3 and buf:
            start = rng.randrange(len(buf))
            chunk = buf[start:start + rng.randint(1, 32)]
            buf[pos:pos] = chunk * rng.randint(1, 4)
        elif op == 4 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 5:
            other = rng.choice(CORPUS)
            cut = rng.randint(0, len(other))
            buf[pos:] = other[cut:]
        else:
            line = b" ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 6)))
            buf[pos:pos] = b"\n" + line + b"\n"
    return bytes(buf)


def _big(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:  # a line just below / above the limit
        n = MAX_LINE_BYTES + rng.choice((-5, -4, 0, 1))
        return b"FROM scratch\nRUN " + b"x" * n + b"\n"
    if kind == 1:  # deep continuation
        return b"FROM scratch\nRUN echo \\\n" + rng.choice((b"a \\\n", b"# c\n", b"\n")) * rng.randint(1000, 10_000)
    if kind == 2:  # deep JSON nesting
        depth = rng.randint(1000, 200_000)
        return b'FROM scratch\nCMD ["a",' + b"[" * depth + b"]" * rng.choice((0, depth)) + b"]\n"
    if kind == 3:  # many lines
        return b"FROM scratch\n" + b"CMD x\n" * rng.randint(1000, 50_000)
    return rng.randbytes(rng.randint(0, 200_000))


def generate(rng: random.Random) -> bytes:
    """One fuzz input."""
    roll = rng.random()
    if roll < 0.002:
        return _big(rng)
    if roll < 0.10:
        return rng.randbytes(rng.randint(0, 300))
    if roll < 0.25:
        return b"".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 40)))
    data = _mutate(rng, rng.choice(CORPUS))
    return data.decode("utf-8", "replace").encode() if roll < 0.35 else data


def _fits_limits(kf: Kubefile) -> bool:
    text = kf.text.encode("utf-8")
    return len(text) <= MAX_FILE_BYTES and all(len(line) <= MAX_LINE_BYTES for line in text.split(b"\n"))


def check(data: bytes | str, target: Callable[[bytes | str, str], Kubefile] = parse) -> str | None:
    """``None`` when ``target`` behaved, else a description of the crash."""
    try:
        kf = target(data, FILENAME)
    except KubefileError as e:
        if e.file != FILENAME or (e.line is not None and e.line < 1) or not e.message:
            return f"KubefileError without a sane location: {e!r}"
        if not str(e).startswith(FILENAME + (f":{e.line}: " if e.line is not None else ": ")):
            return f"KubefileError badly formatted: {e!s}"
        return None
    except BaseException:  # noqa: BLE001 - exactly what we hunt for
        return traceback.format_exc(limit=6)
    firsts = [i for i in kf.instructions if isinstance(i, From)]
    if not kf.instructions or kf.instructions[0] is not kf.base or len(firsts) != 1:
        return "parsed Kubefile does not start with exactly one FROM"
    if any(i.location.line < 1 or i.location.end_line < i.location.line for i in kf.instructions):
        return "instruction with a bad location"
    if _fits_limits(kf):
        try:
            again = target(kf.text, FILENAME)
        except BaseException:  # noqa: BLE001
            return "canonical text does not parse back:\n" + traceback.format_exc(limit=6)
        if [i.text for i in again.instructions] != [i.text for i in kf.instructions]:
            return "canonical text parses back to different instructions"
    return None


def run(cases: int, seed: int, target: Callable[[bytes | str, str], Kubefile] = parse,
        show: int = 3, out: Callable[[str], None] = print) -> int:
    """Run ``cases`` inputs; print failures (at most ``show``) and the summary; return the crash count."""
    rng = random.Random(seed)
    crashes = 0
    for _ in range(cases):
        data = generate(rng)
        problem = check(data, target)
        if problem is not None:
            crashes += 1
            if crashes <= show:
                out(f"--- crash {crashes}: input {data[:200]!r}{' ...' if len(data) > 200 else ''}\n{problem}")
    out(f"cases: {cases} crashes: {crashes}")
    return crashes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz the Kubefile parser.")
    ap.add_argument("cases", type=int, nargs="?", default=10_000, help="number of random inputs")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time based, printed)")
    ap.add_argument("--show", type=int, default=3, help="print at most this many crashing inputs")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    print(f"seed: {seed}")
    return 1 if run(args.cases, seed, show=args.show) else 0


if __name__ == "__main__":
    sys.exit(main())
