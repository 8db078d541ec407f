"""Issue 16 item 5 (network): a registry that drips bytes is abandoned by the minimum-progress rule with an
error naming the registry, and Ctrl-C during such a fetch ends the command within 2 s.

The registry is a tiny loopback HTTP server written here: /v2/ and the manifest answer at once, the config
blob comes one byte every 0.1 s."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .procwatch import reap, signal_and_wait

SEALER = [sys.executable, "-m", "sealer.cli.main"]
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                     "pad": "x" * 4000}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": CONFIG_DIGEST, "size": len(CONFIG)},
                       "layers": []}).encode()


class DripRegistry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = threading.Event()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: DripRegistry

    def log_message(self, *args: object) -> None:
        pass

    def _head(self, code: int, length: int, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._route(body=True)

    def _route(self, body: bool) -> None:
        if self.path == "/v2/":
            self._head(200, 2, "application/json")
            if body:
                self.wfile.write(b"{}")
        elif self.path.startswith("/v2/drip/manifests/"):
            digest = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
            self._head(200, len(MANIFEST), "application/vnd.oci.image.manifest.v1+json",
                       {"Docker-Content-Digest": digest})
            if body:
                self.wfile.write(MANIFEST)
        elif self.path == f"/v2/drip/blobs/{CONFIG_DIGEST}":
            self._head(200, len(CONFIG), "application/octet-stream")
            if not body:
                return
            try:
                for i in range(len(CONFIG)):
                    if self.server.stop.is_set():
                        return
                    self.wfile.write(CONFIG[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                return
        else:
            self._head(404, 0, "text/plain")


@pytest.fixture
def drip() -> Iterator[DripRegistry]:
    srv = DripRegistry()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        t.join(timeout=10)


def test_slow_drip_is_abandoned_with_the_registry_named(store_root: Path, drip: DripRegistry) -> None:
    env = dict(os.environ, SEALER_NET_MIN_RATE="1024", SEALER_NET_WINDOW="2")
    t0 = time.monotonic()
    r = subprocess.run([*SEALER, "--root", str(store_root), "pull", f"{drip.host}/drip:v1"], capture_output=True,
                       text=True, timeout=120, env=env)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert f"registry {drip.host} is too slow" in r.stderr and "minimum 1024 B/s" in r.stderr
    assert took < 30, took
    assert json.loads((store_root / "index.json").read_text())["manifests"] == []


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_slow_fetch_exits_within_2s(store_root: Path, drip: DripRegistry, sig: signal.Signals,
                                                     code: int) -> None:
    env = dict(os.environ, SEALER_NET_WINDOW="600")
    p = subprocess.Popen([*SEALER, "--root", str(store_root), "pull", f"{drip.host}/drip:v1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        time.sleep(3)  # well into the drip
        assert p.poll() is None, p.communicate()
        err, took = signal_and_wait(p, sig, group=True, timeout=20)
    finally:
        reap(p)
    assert p.returncode == code, err
    assert took < 2.0, took
    assert "Traceback" not in err
    assert list((store_root / "ingest").iterdir()) == []
