"""Chart render worker: ``python -m sealer.discover.render_worker``.

Reads one JSON request per line on stdin, answers one JSON line on stdout. It runs in its own
process because the Helm engine (Go, through ctypes) cannot be interrupted: a template that loops
forever is stopped by killing this process (see :mod:`sealer.discover.renderpool`).

Request: ``{"path", "values", "name", "namespace", "kube_version"}``.
Answer: ``{"ok": true, "chart", "manifests", "annotations", "merged", "images_lock"}``, ``{"ok": true,
"chart", "library": true}`` for a library chart (not rendered), or
``{"ok": false, "error"}``.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from sealer.workerproc import limit_memory, memory_arg, private_protocol


def render(req: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm
    from helm_python import _native

    values = req.get("values")
    with helm.Chart.load(req["path"]) as chart:
        meta = chart.metadata
        name = str(meta.get("name") or "")
        declared = [d for d in meta.get("dependencies") or [] if isinstance(d, dict)]
        loaded = {str(d.get("name")) for d in chart.dependencies}
        missing = [str(d.get("name")) for d in declared if str(d.get("name")) not in loaded]
        if missing:
            return {"ok": False, "chart": name, "error": "found in Chart.yaml, but missing in charts/ directory: "
                    + ", ".join(missing) + " (run `helm dependency build` before building)"}
        if meta.get("type") == "library":  # Helm: "library charts are not installable"
            return {"ok": True, "chart": name, "library": True, "manifests": {}}
        opts: dict[str, Any] = {"name": req.get("name") or name or "release",
                                "namespace": req.get("namespace") or "default", "is_install": True}
        if req.get("kube_version"):
            opts["kube_version"] = req["kube_version"]
        try:
            # Chart.render() does not expose kube_version; the C API accepts it in the options JSON.
            rendered = _native.call_string("helm_render", chart._raw(),
                                           None if values is None else json.dumps(values), json.dumps(opts))
        except helm.HelmError as e:
            return {"ok": False, "chart": name, "error": str(e) or type(e).__name__}
        annotations = meta.get("annotations") or {}
        merged = chart.merge_values(values) if "helm.sh/images" in annotations else {}
        lock = next((f.get("data") for f in chart.files if f.get("name") == "images.lock"), None)
        return {"ok": True, "chart": name, "manifests": json.loads(rendered), "annotations": annotations,
                "merged": merged, "images_lock": lock}


def serve(inp: IO[str], out: IO[str]) -> None:
    for line in inp:
        if not line.strip():
            continue
        try:
            answer = render(json.loads(line))
        except Exception as e:  # every failure goes back to the parent as data
            answer = {"ok": False, "error": str(e) or type(e).__name__}
        out.write(json.dumps(answer) + "\n")
        out.flush()


DEFAULT_MEMORY_MB = 512  # sealer.limits.DEFAULT_CHART_MEMORY_MB (this worker imports no heavy sealer module)


def main() -> None:
    # The parent passes ``chart_memory_mb`` of :mod:`sealer.limits` (the CLI's ``SEALER_CHART_MEMORY_MB``)
    limit_memory(memory_arg(sys.argv[1:], DEFAULT_MEMORY_MB))
    serve(sys.stdin, private_protocol())


if __name__ == "__main__":
    main()
