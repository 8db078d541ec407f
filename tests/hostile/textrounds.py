"""Random markup, emoji codes and terminal escapes in image metadata (``make stress``): every string must come
out of ``inspect`` and ``images`` verbatim (controls escaped), with no raw control character and no crash."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sealer.plaintext import escape_controls

from .craft import put_image

SEALER = [sys.executable, "-m", "sealer.cli.main"]
PIECES = ["[", "]", "[/]", "[red]", "[bold", "/", ":smile:", ":", "a", "x y", "\x1b", "\x1b]0;t\x07", "\x1b[2J",
          "\x9b", "\u202e", "\\", "[link=http://x]", "\r", "\x00", "😄", "%s", "{}", "'", '"']
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class TextTally:
    cases: int = 0
    crashes: int = 0
    raw_controls: int = 0
    not_verbatim: int = 0
    problems: list[str] = field(default_factory=list)


def run_text_rounds(work: Path, cases: int, seed: int) -> TextTally:
    rng = random.Random(seed)
    t = TextTally()
    for n in range(cases):
        root = work / f"s{n}"
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        put_image(root, "img:v1", config={"architecture": text}, labels={"io.sealer.cmds": json.dumps([text])},
                  history=[{"created_by": "RUN " + text}])
        t.cases += 1
        for args in (["inspect", "img:v1"], ["images"]):
            r = subprocess.run([*SEALER, "--root", str(root), *args], capture_output=True, timeout=60,
                               env=dict(os.environ))
            out = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
            if r.returncode != 0 or "Traceback" in out:
                t.crashes += 1
                t.problems.append(f"{args[0]} {text!r}: exit {r.returncode}: {out[-200:]!r}")
                continue
            if _CTRL.search(out):
                t.raw_controls += 1
                t.problems.append(f"{args[0]} {text!r}: raw control character in output")
            if escape_controls(text, keep_newlines=False) not in out:
                t.not_verbatim += 1
                t.problems.append(f"{args[0]} {text!r}: not shown verbatim")
    return t
