"""The heavy reliability and security suite (``make stress``) and its table of figures.

    STRESS=1 python bench/stress.py     # heavy: 100 kill -9 rounds, 10^5 fuzz cases, 20-minute fault soak, ...
    python bench/stress.py              # short versions (what `make bench` runs), about a minute

Knobs (environment): STRESS_KILL_ROUNDS, STRESS_FUZZ_CASES, STRESS_LAYER_VARIANTS, STRESS_LOAD_VARIANTS,
STRESS_SWAP_BUILDS, STRESS_SOAK_SECONDS (default 1200 under STRESS=1), STRESS_SIGNAL_ROUNDS, STRESS_TEXT_CASES,
STRESS_SEED.
Exits 1 when a must-be-zero figure is not zero. The suites live in tests/reliability/ (``make test`` runs their
short versions); see docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealer.store.fsutil import force_rmtree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

HEAVY = os.environ.get("STRESS") == "1"


def knob(name: str, heavy: int, short: int) -> int:
    return int(os.environ.get(name, heavy if HEAVY else short))


KILL_ROUNDS = knob("STRESS_KILL_ROUNDS", 100, 3)
FUZZ_CASES = knob("STRESS_FUZZ_CASES", 100_000, 500)
LAYER_VARIANTS = knob("STRESS_LAYER_VARIANTS", 20_000, 300)
LOAD_VARIANTS = knob("STRESS_LOAD_VARIANTS", 5_000, 100)
SWAP_BUILDS = knob("STRESS_SWAP_BUILDS", 100, 5)
SOAK_SECONDS = knob("STRESS_SOAK_SECONDS", 1200, 20)
SIGNAL_ROUNDS = knob("STRESS_SIGNAL_ROUNDS", 100, 10)
TEXT_CASES = knob("STRESS_TEXT_CASES", 200, 10)
SEED = int(os.environ.get("STRESS_SEED", random.SystemRandom().randrange(1 << 16)))

Row = tuple[str, str, bool]   # (figure, value, ok)


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def add(self, figure: str, value: object, must_be_zero: bool = False) -> None:
        ok = not must_be_zero or value == 0
        with self._lock:
            self.rows.append((figure, str(value), ok))

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)

    def print(self) -> None:
        w = max(len(f) for f, _, _ in self.rows)
        v = max(len(x) for _, x, _ in self.rows)
        line = "+" + "-" * (w + 2) + "+" + "-" * (v + 2) + "+------+"
        print(line)
        print(f"| {'figure'.ljust(w)} | {'value'.rjust(v)} | {'':4} |")
        print(line)
        for f, x, ok in self.rows:
            print(f"| {f.ljust(w)} | {x.rjust(v)} | {'ok' if ok else 'FAIL':4} |")
        print(line)
        for n in self.notes:
            print(f"  note: {n}")

    @property
    def failed(self) -> list[str]:
        return [f for f, _, ok in self.rows if not ok]


def section(table: Table, name: str, fn: Callable[[], None]) -> None:
    t0 = time.monotonic()
    print(f">> {name} ...", flush=True)
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - a section that cannot run is a failure, reported in the table
        table.add(f"{name}: section errors", f"{type(e).__name__}: {e}"[:60], must_be_zero=True)
    print(f"   {name} done in {time.monotonic() - t0:.0f}s", flush=True)


def main() -> int:
    from reliability.hostile import run_layer_variants, run_load_variants
    from reliability.killrounds import run_kill_rounds
    from reliability.secrets_scan import run_secrets_scan
    from reliability.soak import run_soak
    from reliability.test_fuzz import FUZZ
    from reliability.yamlbombs import CASES, find_images

    table = Table()
    work = Path(tempfile.mkdtemp(prefix="sealer-stress-"))
    print(f"stress: {'heavy' if HEAVY else 'short'} run, seed {SEED}, workdir {work}", flush=True)
    fuzz = subprocess.Popen([sys.executable, str(FUZZ), str(FUZZ_CASES), "--seed", str(SEED)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    soak_result: dict[str, Any] = {}

    def soak_thread() -> None:
        try:
            soak_result["tally"] = run_soak(work / "soak", seconds=SOAK_SECONDS, seed=SEED)
        except Exception as e:  # noqa: BLE001 - reported
            soak_result["error"] = f"{type(e).__name__}: {e}"

    soaker = threading.Thread(target=soak_thread, daemon=True)
    soaker.start()
    try:
        def kill() -> None:
            t = run_kill_rounds(work / "kill", KILL_ROUNDS, seed=SEED)
            table.add("kill -9 rounds run", t.rounds)
            table.add("kill -9: operations started / killed mid-way", f"{t.started} / {t.killed}")
            table.add("kill -9: stores found corrupt", t.corrupt, must_be_zero=True)
            table.add("kill -9: untouched image lost", t.lost_keeper, must_be_zero=True)
            table.add("kill -9: fresh builds failed after a round", t.fresh_build_failed, must_be_zero=True)
            for p in t.problems[:5]:
                table.note(p)

        def archives() -> None:
            lt = run_layer_variants(work / "layers", LAYER_VARIANTS, seed=SEED)
            ld = run_load_variants(work / "loads", LOAD_VARIANTS, seed=SEED)
            table.add("hostile archives tried (layers + load)", lt.tried + ld.tried)
            table.add("hostile archives refused", lt.refused + ld.refused)
            table.add("hostile archives: escapes", lt.escapes + ld.escapes, must_be_zero=True)
            table.add("hostile archives: crashes (not a clean error)", lt.crashes + ld.crashes, must_be_zero=True)
            for p in (lt.examples + ld.examples)[:5]:
                table.note(p)

        def copy_swap() -> None:
            from reliability.conftest import Sealer
            from reliability.test_copy_escapes import swap_during_builds

            d = work / "swap"
            d.mkdir()
            ok, failed, at_write, leaks = swap_during_builds(d, Sealer(d / "store"), SWAP_BUILDS)
            table.add("COPY symlink-swap builds (ok / refused / caught at write)", f"{ok} / {failed} / {at_write}")
            table.add("COPY symlink-swap: outside bytes in the store", len(leaks), must_be_zero=True)

        def yaml() -> None:
            tried = unclean = slow = 0
            for name, (write, must_fail) in sorted(CASES.items()):
                root = work / "yaml" / name
                write(root)
                r = find_images(root, chart_timeout=5)
                tried += 1
                if not r.clean or (must_fail and r.returncode == 0):
                    unclean += 1
                    table.note(f"find-images {name}: rc {r.returncode}: {r.stderr[-200:]}")
                if r.seconds > 30:
                    slow += 1
                table.note(f"find-images {name}: {r.seconds:.1f}s, peak {r.max_rss >> 20} MiB")
            table.add("hostile YAML/charts through find-images", tried)
            table.add("hostile YAML/charts: not a clean error", unclean, must_be_zero=True)
            table.add("hostile YAML/charts: over 30 s", slow, must_be_zero=True)

        def secrets() -> None:
            rep = run_secrets_scan(work / "secrets")
            table.add("secrets: commands run / bytes scanned", f"{rep.commands} / {rep.bytes_scanned}")
            table.add("secrets scan hits", len(rep.hits), must_be_zero=True)
            table.add("secrets: config.json mode", oct(rep.config_mode))
            table.add("secrets: steps not as expected", len(rep.failures), must_be_zero=True)
            for p in (rep.hits + rep.failures)[:5]:
                table.note(p)

        def signals() -> None:
            from hostile.signalrounds import run_signal_rounds

            t = run_signal_rounds(work / "signals", SIGNAL_ROUNDS, seed=SEED)
            table.add("signal rounds (SIGINT/SIGTERM at random points)", t.rounds)
            table.add("signals: per stage", ", ".join(f"{k} {v}" for k, v in sorted(t.per_stage.items())))
            table.add("signals: delivered / finished before / committed before", f"{t.signalled} / {t.finished_first}"
                      f" / {t.committed_first}")
            table.add("signals: orphan processes", t.orphans, must_be_zero=True)
            table.add("signals: partial files left", t.partial_files, must_be_zero=True)
            table.add("signals: store refs changed", t.store_changes, must_be_zero=True)
            table.add("signals: wrong exit code (want 130/143)", t.wrong_exit, must_be_zero=True)
            table.add("signals: exits slower than 2 s", t.slow_exit, must_be_zero=True)
            table.add("signals: unreferenced blobs left (gc frees them)", t.leftover_blobs)
            for p in t.problems[:5]:
                table.note(p)

        def hostile_text() -> None:
            from hostile.textrounds import run_text_rounds

            t = run_text_rounds(work / "text", TEXT_CASES, seed=SEED)
            table.add("markup/escape strings through inspect and images", t.cases)
            table.add("hostile text: crashes", t.crashes, must_be_zero=True)
            table.add("hostile text: raw control characters printed", t.raw_controls, must_be_zero=True)
            table.add("hostile text: not shown verbatim", t.not_verbatim, must_be_zero=True)
            for p in t.problems[:5]:
                table.note(p)

        section(table, "signals", signals)
        section(table, "hostile text", hostile_text)
        section(table, "kill -9 rounds", kill)
        section(table, "hostile archives", archives)
        section(table, "COPY symlink swap", copy_swap)
        section(table, "hostile YAML", yaml)
        section(table, "secrets", secrets)

        out, _ = fuzz.communicate(timeout=3600)
        import re

        m = re.search(r"cases: (\d+) crashes: (\d+)", out)
        table.add("Kubefile fuzz cases", int(m.group(1)) if m else 0)
        table.add("Kubefile fuzz crashes", int(m.group(2)) if m else -1, must_be_zero=True)

        print(f">> fault soak ({SOAK_SECONDS}s) finishing ...", flush=True)
        soaker.join()
        if "error" in soak_result:
            table.add("fault soak: section errors", soak_result["error"][:60], must_be_zero=True)
        else:
            s = soak_result["tally"]
            table.add("fault-injected pulls", s.pulls)
            table.add("fault soak: faults fired", s.faults_fired)
            table.add("fault soak: pulls recovered (faults fired, pull ok)", s.recovered)
            table.add("fault soak: clean failures", s.clean_failures)
            table.add("fault soak: wrong blobs committed", s.wrong_blobs + s.wrong_images, must_be_zero=True)
            table.add("fault soak: crashes (not a clean error)", s.crashes, must_be_zero=True)
            table.add("fault soak: credentials sent to another host", s.leaked_credentials, must_be_zero=True)
            for p in s.problems[:5]:
                table.note(p)
    finally:
        if fuzz.poll() is None:
            fuzz.kill()
            fuzz.wait()
        soaker.join(timeout=SOAK_SECONDS + 120)
        force_rmtree(work)
    table.print()
    if table.failed:
        print(f"stress: FAILED: {', '.join(table.failed)}")
        return 1
    print("stress: every must-be-zero figure is zero")
    return 0



if __name__ == "__main__":
    sys.exit(main())
