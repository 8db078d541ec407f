"""httpx's command-line tool stays unloaded: importing the registry client (which imports httpx) must not load
``httpx._main`` and with it Rich's console and progress and Pygments (~50 ms of every command that talks to a
registry). This fails if a future httpx stops tolerating the module's absence, or loads its CLI another way."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
{before}
import sealer.registry.client
import httpx
with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="ok"))) as c:
    body = c.get("http://127.0.0.1/x").text
print(json.dumps({{"body": body, "cli": repr(sys.modules.get("httpx._main", "absent")),
                  "main": callable(httpx.main),
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("rich", "pygments"))}}))
"""


def _probe(before: str = "") -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], capture_output=True, text=True,
                       check=True)
    out: dict[str, object] = json.loads(r.stdout.splitlines()[-1])
    return out


def test_registry_client_imports_httpx_without_its_cli() -> None:
    got = _probe()
    assert got["body"] == "ok", "httpx works"
    assert got["cli"] == "None", "httpx._main was never imported (its place is held by None)"
    assert got["heavy"] == []
    assert got["main"] is True, "httpx.main is httpx's own stand-in, still callable"


def test_httpx_imported_first_is_left_as_it_is() -> None:
    got = _probe("import httpx")
    assert got["body"] == "ok"
    assert got["cli"].startswith("<module 'httpx._main'"), "a process that loaded httpx itself keeps its CLI"
