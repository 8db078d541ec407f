#!/usr/bin/env python3
"""Score per module from ``mutmut results --all true`` on stdin; lists every mutant not killed.
Exit 1 when nothing was read (mutmut did not run)."""

from __future__ import annotations

import collections
import re
import sys


def main() -> int:
    per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    alive: list[str] = []
    for raw in sys.stdin:
        line = raw.strip()
        if ": " not in line:
            continue
        name, _, status = line.rpartition(": ")
        module = re.sub(r"\.(x_|xǁ).*", "", name)
        per[module][status] += 1
        if status != "killed":
            alive.append(f"{status:>10}  {name}   (mutmut show {name})")
    if not per:
        print("no mutmut results", file=sys.stderr)
        return 1
    print(f"{'module':<40} {'killed':>7} {'total':>6} {'score':>6}")
    for module, c in sorted(per.items()):
        total = sum(c.values())
        print(f"{module:<40} {c['killed']:>7} {total:>6} {100 * c['killed'] / total:>5.0f}%")
    for a in alive:
        print(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
