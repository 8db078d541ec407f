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
import sys
from typing import IO

from sealer.cluster.bounded import memory_limit_mb
from sealer.workerproc import limit_memory, memory_arg, private_protocol


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
    limit_memory(memory_arg(sys.argv[1:], memory_limit_mb()))
    serve(sys.stdin, private_protocol())


if __name__ == "__main__":
    main()
