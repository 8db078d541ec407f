"""Render Go ``text/template`` text with Go's own engine (the Helm engine's ``tpl``).

``helm-python-sdk`` exposes chart rendering, not ``text/template`` directly, so a
one-template chart ``{{ tpl .Values.t .Values.d }}`` is built in memory and loaded
with ``Chart.load_archive``: ``tpl`` parses ``t`` as a fresh Go template named ``gotpl`` and executes
it with ``.`` (and ``$``) bound to ``d`` — exactly the data we pass, nothing of
Helm's ``.Values``/``.Release``. Consequences, documented in docs/cluster-config.md:

* the function set is Go's builtins plus Helm's (sprig, ``toYaml``, ``include``...),
  a superset of plain ``text/template``;
* a missing key renders empty under Helm (``missingkey=zero`` and ``<no value>``
  blanked), so :func:`render` first checks every root field the template reads
  (:mod:`sealer.cluster.template_fields`) and raises for unknown ones, which is
  what Go's ``missingkey=error`` would do;
* Helm's error text (``template: gotpl:LINE[:COL]: ...``) is mapped back to the
  template's own file name and line.
"""

from __future__ import annotations

import difflib
import gzip
import io
import re
import tarfile
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sealer.cluster.template_fields import root_field_refs
from sealer.errors import ClusterConfigError

TemplateData = Mapping[str, str | Sequence[str]]

_CHART_YAML = "apiVersion: v2\nname: gotpl\nversion: 0.1.0\n"
_RENDER_TEMPLATE = "{{ tpl .Values.t .Values.d }}"
_OUTPUT_KEY = "gotpl/templates/render.yaml"
_ERR = re.compile(
    r"template: gotpl:(?P<line>\d+)(?::(?P<col>\d+))?: (?:executing \"gotpl\" at <(?P<at>.*?)>: )?(?P<msg>.*)",
    re.DOTALL,
)


def _chart_archive() -> bytes:
    """The one-template chart as ``.tgz`` bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, content in (("gotpl/Chart.yaml", _CHART_YAML), ("gotpl/templates/render.yaml", _RENDER_TEMPLATE)):
            data = content.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _map_error(text: str, name: str) -> ClusterConfigError:
    """Turn Helm's tpl error into ``NAME:LINE: message``."""
    pos = text.rfind("template: gotpl:")
    m = _ERR.match(text, pos) if pos >= 0 else None
    if m is None:
        return ClusterConfigError(f"render template: {text.strip()}", name)
    msg = m.group("msg").strip()
    if m.group("at"):
        msg = f"{msg} (at {{{{{m.group('at')}}}}}, column {m.group('col')})"
    verb = "execute template" if m.group("at") or "executing" in text[pos:] else "parse template"
    return ClusterConfigError(f"{verb}: {msg}", name, int(m.group("line")))


def check_fields(text: str, data: TemplateData, name: str) -> None:
    """Raise like Go's ``missingkey=error`` for the first root field not in ``data``."""
    for ref in root_field_refs(text):
        if ref.name not in data:
            close = difflib.get_close_matches(ref.name, list(data), n=1)
            hint = f"; did you mean .{close[0]}?" if close else f"; known: {', '.join('.' + k for k in data)}"
            raise ClusterConfigError(f"execute template: map has no entry for key \"{ref.name}\"{hint}", name,
                                     ref.line)


class InProcessGoTemplateEngine:
    """Go ``text/template`` rendering through Helm in this process (unbounded: only for the worker process of
    :mod:`sealer.cluster.bounded`, or for trusted templates); use as a context manager."""

    def __init__(self) -> None:
        import helm_python  # heavy native library: load only when templates are rendered

        self._helm = helm_python
        self._chart = helm_python.Chart.load_archive(_chart_archive())

    def render(self, text: str, data: TemplateData, *, name: str) -> str:
        """Render ``text`` with ``data`` as ``.``; errors name ``name`` and the template line."""
        check_fields(text, data, name)
        values: dict[str, Any] = {"t": text, "d": {k: v if isinstance(v, str) else list(v) for k, v in data.items()}}
        try:
            out = self._chart.render(values, name="gotpl", namespace="default")
        except self._helm.HelmError as e:
            raise _map_error(str(e), name) from None
        return out.get(_OUTPUT_KEY, "")

    def close(self) -> None:
        self._chart.close()

    def __enter__(self) -> InProcessGoTemplateEngine:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class GoTemplateEngine:
    """Go ``text/template`` rendering in a worker process with time and memory caps (templates come from
    images); use as a context manager. Same errors as the in-process engine, plus the limits'."""

    def __init__(self, timeout: float | None = None) -> None:
        from sealer.cluster.bounded import TemplateWorker

        self._worker = TemplateWorker()
        self._timeout = timeout

    def render(self, text: str, data: TemplateData, *, name: str) -> str:
        check_fields(text, data, name)
        plain = {k: v if isinstance(v, str) else list(v) for k, v in data.items()}
        return self._worker.render(text, plain, name, self._timeout)

    def close(self) -> None:
        self._worker.close()

    def __enter__(self) -> GoTemplateEngine:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def render(text: str, data: TemplateData, *, name: str = "template") -> str:
    """One-shot :meth:`GoTemplateEngine.render`."""
    with GoTemplateEngine() as engine:
        return engine.render(text, data, name=name)
