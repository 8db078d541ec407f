"""Go template render worker: ``python -m sealer.cluster.template_worker``.

The Helm engine (Go through ctypes) cannot be interrupted, so kubeadm templates from an image's rootfs are
rendered here, in a child process with a heap cap (RLIMIT_DATA, like the chart render worker in
:mod:`sealer.discover.render_worker`); :mod:`sealer.cluster.bounded` kills it when a render runs past its time
limit or the parent is interrupted.

One JSON request per line on stdin: ``{"text", "data", "name"}``; one JSON answer per line:
``{"ok": true, "out"}`` or ``{"ok": false, "message", "file", "line"}``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import IO

from sealer.cluster.bounded import memory_limit_mb


def limit_memory(mb: int) -> None:
    if mb > 0:
        limit = mb << 20
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def serve(inp: IO[str], out: IO[str]) -> None:
    from sealer.cluster.gotemplate import InProcessGoTemplateEngine
    from sealer.errors import ClusterConfigError

    with InProcessGoTemplateEngine() as engine:
        for line in inp:
            if not line.strip():
                continue
            req = json.loads(line)
            answer: dict[str, object]
            try:
                answer = {"ok": True, "out": engine.render(req["text"], req["data"], name=req["name"])}
            except ClusterConfigError as e:
                answer = {"ok": False, "message": e.message, "file": e.file, "line": e.line}
            except MemoryError:
                answer = {"ok": False, "message": "out of memory", "file": req.get("name"), "line": None}
            except Exception as e:  # every failure goes back to the parent as data
                answer = {"ok": False, "message": f"render template: {e or type(e).__name__}",
                          "file": req.get("name"), "line": None}
            out.write(json.dumps(answer) + "\n")
            out.flush()


def main() -> None:
    # The parent passes its limit explicitly: ``--memory-mb N`` (a worker started by hand gets the default).
    args = sys.argv[1:]
    limit_memory(int(args[1]) if args[:1] == ["--memory-mb"] and len(args) > 1 else memory_limit_mb())
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, proto)


if __name__ == "__main__":
    main()
