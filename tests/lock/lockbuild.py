"""Build the fixed images of the behaviour lock and print their manifest digests as JSON.

The lock guards refactorings: the same Kubefiles, built with ``SOURCE_DATE_EPOCH`` set, must give byte-identical
images (same manifest digest) before and after. Record on the reference commit with::

    .venv/bin/python tests/lock/lockbuild.py > tests/lock/digests.json

``test_behaviour_lock.py`` runs the same builds and compares with ``digests.json``.
The lite build caches images from a local test registry on a fixed port (the reference names the port, so it is
part of the image's bytes).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402
from helpers.registry import push_test_image, start_registry  # noqa: E402

from sealer.cli.main import cli  # noqa: E402

EPOCH = "1700000000"
LOCK_PORT = 45917  # fixed: the cached image's reference (127.0.0.1:PORT/...) is part of the image


def _sealer(root: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    if r.exit_code != 0:
        raise RuntimeError(f"sealer {' '.join(args)} exited {r.exit_code}:\n{r.output}")
    return r.stdout


def _digest(root: Path, ref: str) -> str:
    doc = json.loads(_sealer(root, "inspect", "--json", ref))
    return str(doc["digest"]) if "digest" in doc else str(doc["manifestDigest"])


def scratch_context(tmp: Path) -> Path:
    ctx = tmp / "ctx-scratch"
    (ctx / "etc").mkdir(parents=True)
    (ctx / "etc" / "app.conf").write_text("key = value\n")
    (ctx / "bin").mkdir()
    tool = ctx / "bin" / "hello.sh"
    tool.write_text("#!/bin/sh\necho hello\n")
    tool.chmod(0o755)
    (ctx / "Kubefile").write_text(
        "FROM scratch\n"
        "COPY etc etc\n"
        "COPY bin bin\n"
        "RUN mkdir -p out && printf 'built\\n' > out/result.txt && chmod 0644 out/result.txt\n"
        "CMD echo start\n"
    )
    return ctx


def lite_context(tmp: Path, host: str) -> Path:
    ctx = tmp / "ctx-lite"
    ctx.mkdir(parents=True)
    (ctx / "imageList").write_text(f"{host}/library/busybox:1.36\n")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY imageList manifests\nCMD kubectl apply -f manifests\n")
    return ctx


def build_all(tmp: Path) -> dict[str, str]:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    out: dict[str, str] = {}
    root = tmp / "store"
    for ctx in [scratch_context(tmp)]:
        _sealer(root, "build", "-q", "-b", "lite", "-t", "lock/scratch:v1", str(ctx))
    out["scratch"] = _digest(root, "lock/scratch:v1")
    reg = start_registry(tmp / "reg", port=LOCK_PORT)
    try:
        push_test_image(reg, "library/busybox:1.36", [200_000, 50_000], seed=11)
        ctx = lite_context(tmp, reg.host)
        _sealer(root, "build", "-q", "-b", "lite", "-t", "lock/lite:v1", str(ctx))
        out["lite"] = _digest(root, "lock/lite:v1")
    finally:
        reg.stop()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(build_all(Path(d)), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
