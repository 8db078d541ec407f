"""Builders for discovery tests: real files and charts rendered by the real Helm engine."""

from __future__ import annotations

import textwrap
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def make_chart(directory: Path, name: str, *, values: str = "", templates: dict[str, str] | None = None,
               chart_extra: str = "") -> Path:
    """A chart directory ``directory/name`` with a Deployment image ``{{ .Values.image }}``."""
    chart = directory / name
    write(chart / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n" + textwrap.dedent(chart_extra))
    write(chart / "values.yaml", values or "image: nginx:1.25\n")
    for rel, text in (templates or {"deployment.yaml": DEPLOYMENT}).items():
        write(chart / "templates" / rel, text)
    return chart


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}"}
spec:
  template:
    spec:
      containers:
      - name: main
        image: "{{ .Values.image }}"
"""
