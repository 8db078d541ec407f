"""Make text that did not come from our own code safe to show on a terminal. Pure: no I/O.

Control characters other than newline and tab (C0, DEL, C1), and the Unicode bidi overrides that can reorder
what a reader sees, are shown as escapes (``\\x1b``, ``\\u202e``), so an image label or a command's output
cannot clear the screen, retitle the window or fake the list of commands that will run.
Markup is a separate concern handled by the CLI's output module (``sealer.cli.text``).
"""

from __future__ import annotations

import re

# C0 except \t and \n, DEL, C1; bidi embeddings/overrides/isolates; line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape_controls(text: str, keep_newlines: bool = True) -> str:
    """``text`` with every unsafe control character replaced by a visible escape.

    With ``keep_newlines=False`` newlines are escaped too (for one-line fields such as table cells).
    """
    out = _UNSAFE.sub(_escape, text)
    if not keep_newlines:
        out = out.replace("\n", "\\n")
    return out
