"""A fault soak: pulls through the fault-injecting proxy (helpers/faultproxy.py) in front of a real htpasswd+TLS
``docker-registry``, with random faults per pull: connection resets mid-stream, stalls longer than the read
timeout, 500/502/503/429 with and without Retry-After, truncated bodies (clean close), corrupted bytes (wrong
digest) and redirects to another host.

Figures: pulls, faults fired, pulls recovered (succeeded although faults fired), clean failures, crashes
(an exception that is not a SealerError), wrong blobs committed (a blob in the store whose content does not match
its name, or an image whose digest is not the registry's), and Authorization headers the other host received.
"""

from __future__ import annotations

import hashlib
import os
import random
import select
import shutil
import socket
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from helpers.faultproxy import Fault, FaultProxy, _reset
from helpers.registry import Registry, push_test_image, start_registry, write_auth_file

from sealer.errors import SealerError
from sealer.registry import RegistryOptions, pull
from sealer.store.layout import Store

CHUNK = 64 * 1024
STALL_CAP = 60.0   # a stall ends when the client hangs up; this cap only bounds a client that never does


@dataclass
class SoakFault(Fault):
    stall_seconds: float = 0.0     # "stall": send after_bytes, then go silent until the client hangs up (at
    #                                 most this long: a generous cap, not a race), then reset
    client_gave_up: int = 0        # stalls that ended because the client closed the connection (its timeout)


class SoakProxy(FaultProxy):
    """FaultProxy plus two body faults: ``stall`` (silence past the client's read timeout) and ``truncate``
    (send part of the body, then close the connection cleanly)."""

    @staticmethod
    def _stream(h: BaseHTTPRequestHandler, resp: Any, length: int, fault: Fault | None) -> None:
        if fault is None or fault.kind not in ("stall", "truncate"):
            FaultProxy._stream(h, resp, length, fault)
            return
        sent = 0
        while sent < fault.after_bytes:
            chunk = resp.read(min(CHUNK, fault.after_bytes - sent))
            if not chunk:
                break
            h.wfile.write(chunk)
            sent += len(chunk)
        h.wfile.flush()
        if fault.kind == "stall":
            if _wait_for_hangup(h.connection, getattr(fault, "stall_seconds", 60.0)) and isinstance(fault, SoakFault):
                fault.client_gave_up += 1
            _reset(h.connection)
        h.close_connection = True


def _wait_for_hangup(conn: socket.socket, cap: float) -> bool:
    """Stay silent until the peer closes the connection (True) or ``cap`` seconds pass (False). Polled, so a
    stall lasts exactly as long as the client's own read timeout, however slow the machine. Anything the
    client sends meanwhile is read and dropped (this response never completes; the connection is reset)."""
    end = time.monotonic() + cap
    while (left := end - time.monotonic()) > 0:
        readable, _, _ = select.select([conn], [], [], min(left, 0.5))
        if readable:
            try:
                if conn.recv(CHUNK) == b"":
                    return True
            except OSError:
                return True
    return False


@dataclass
class SoakTally:
    pulls: int = 0
    faults_fired: int = 0
    recovered: int = 0
    clean_failures: int = 0
    crashes: int = 0
    wrong_blobs: int = 0
    wrong_images: int = 0
    leaked_credentials: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.crashes + self.wrong_blobs + self.wrong_images + self.leaked_credentials


def _random_faults(rng: random.Random, read_timeout: float) -> list[Fault]:
    faults: list[Fault] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["reset", "stall", "status", "status", "truncate", "corrupt", "redirect"])
        times = rng.choice([1, 1, 2])
        if kind == "reset":
            faults.append(Fault("reset", after_bytes=rng.randint(0, 400_000), times=times))
        elif kind == "stall":
            faults.append(SoakFault("stall", after_bytes=rng.randint(0, 200_000), times=1,
                                    stall_seconds=STALL_CAP))
        elif kind == "truncate":
            faults.append(SoakFault("truncate", after_bytes=rng.randint(1, 200_000), times=times))
        elif kind == "status":
            status = rng.choice([500, 502, 503, 429])
            path = rng.choice([Fault.path, r"/manifests/"])
            faults.append(Fault("status", path=path, status=status, times=times,
                                retry_after=rng.choice([None, "0", "1"])))
        elif kind == "corrupt":
            faults.append(Fault("corrupt", times=rng.choice([1, 1, -1])))
        else:
            faults.append(Fault("redirect", times=rng.choice([1, -1])))
    return faults


def _check_store(store: Store) -> list[str]:
    bad = []
    for p in (store.root / "blobs" / "sha256").iterdir():
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            while b := fh.read(1 << 20):
                h.update(b)
        if h.hexdigest() != p.name:
            bad.append(p.name)
    return bad


def soak(reg: Registry, workdir: Path, *, seconds: float | None = None, pulls: int | None = None,
         seed: int = 0, read_timeout: float = 1.5) -> SoakTally:
    """Pull random images through a fault proxy until ``seconds`` elapse or ``pulls`` are done."""
    rng = random.Random(seed)
    images = {f"soak/app{i}:v1": push_test_image(reg, f"soak/app{i}:v1", sizes, seed=seed * 10 + i).digest
              for i, sizes in enumerate([[1 << 20, 300_000], [600_000], [200_000, 100_000, 50_000]])}
    tally = SoakTally()
    t0 = time.monotonic()
    with SoakProxy(reg) as px:
        auth = write_auth_file(workdir / "auth.json", px.host, reg.username or "", reg.password or "")
        opts = RegistryOptions(auth_file=auth, timeout=read_timeout, backoff=0.05, max_backoff=0.4, retries=6)
        n = 0
        while (seconds is None or time.monotonic() - t0 < seconds) and (pulls is None or n < pulls):
            name = rng.choice(sorted(images))
            with px._lock:
                px.faults.clear()
                px.redirected.clear()
            faults = [px.add(f) for f in _random_faults(rng, read_timeout)]
            root = workdir / f"s{n}"
            store = Store(root)
            ok = False
            try:
                stored = pull(store, f"{px.host}/{name}", opts)
                ok = True
                if str(stored.descriptor.digest) != images[name]:
                    tally.wrong_images += 1
                    tally.problems.append(f"pull {n}: {name} stored as {stored.descriptor.digest}")
            except SealerError:
                tally.clean_failures += 1
            except Exception as e:  # noqa: BLE001 - counted
                tally.crashes += 1
                tally.problems.append(f"pull {n}: {type(e).__name__}: {e}")
            fired = sum(f.fired for f in faults)
            tally.pulls += 1
            tally.faults_fired += fired
            if ok and fired:
                tally.recovered += 1
            bad = _check_store(store)
            if bad:
                tally.wrong_blobs += len(bad)
                tally.problems.append(f"pull {n}: wrong blobs committed: {bad}")
            with px._lock:
                leaked = [h for h in px.redirected if any(k.lower() == "authorization" for k in h)]
            if leaked:
                tally.leaked_credentials += len(leaked)
                tally.problems.append(f"pull {n}: Authorization sent to the other host")
            shutil.rmtree(root, ignore_errors=True)
            n += 1
    tally.seconds = time.monotonic() - t0
    return tally


def run_soak(workdir: Path, *, seconds: float | None = None, pulls: int | None = None, seed: int = 0) -> SoakTally:
    """Start an htpasswd+TLS registry, soak, stop it (by PID)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with start_registry(workdir / "registry", tls=True, htpasswd=("soak", "Soak-" + os.urandom(6).hex())) as reg:
        return soak(reg, workdir, seconds=seconds, pulls=pulls, seed=seed)
