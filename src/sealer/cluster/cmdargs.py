"""CMD arguments (sealer v0.8's ``sealer run --cmd-args`` and the Clusterfile's ``spec.cmd_args``): ``KEY=VALUE``
items whose values replace ``$KEY``/``${KEY}`` in the CMDs run on master0 (:mod:`sealer.deliver.cmdargs`).

sealer (sealerio/sealer v0.8.7): ``cmd/sealer/cmd/run.go`` registers ``--cmd-args`` as a cobra ``StringSlice`` (each
flag value is read as one CSV record, so ``--cmd-args a=1,b=2`` gives two items), ``apply/run.go``
(``ConstructClusterFromArg``) puts them in ``Cluster.Spec.CMDArgs`` (json ``cmd_args``, ``types/api/v2/cluster_types.go``)
and ``utils/strings.ConvertToMap`` turns them into a map (later items win). Here a malformed item is an error
rather than skipped: a key must be a shell-style name, so that ``$KEY`` can reference it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sealer.errors import SealerError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CmdArgError(SealerError):
    """A CMD argument that cannot be used (named in the message, with the fix)."""


def item_problem(item: str) -> str | None:
    """Why ``item`` is not a usable ``KEY=VALUE`` CMD argument, or None."""
    key, eq, value = item.partition("=")
    if not eq:
        return f"{item!r}: expected KEY=VALUE"
    if not _KEY.match(key):
        return (f"{item!r}: {key!r} is not a valid name (letters, digits and _, not starting with a digit; "
                "the CMDs refer to it as $NAME or ${NAME})")
    if "\0" in value:
        return f"{key}: the value holds a NUL byte, which no command can receive"
    return None


def parse_items(items: Iterable[str], what: str) -> dict[str, str]:
    """``KEY=VALUE`` items → a map; a malformed item or a key given twice is a :class:`CmdArgError`."""
    out: dict[str, str] = {}
    for item in items:
        problem = item_problem(item)
        if problem:
            raise CmdArgError(f"{what} {problem}")
        key, _, value = item.partition("=")
        if key in out:
            raise CmdArgError(f"{what}: {key} is given twice")
        out[key] = value
    return out


def split_flag_value(value: str) -> list[str]:
    """One ``--cmd-args`` value as cobra's ``StringSlice`` reads it: one CSV record (Go ``encoding/csv``, comma
    separated; a field that starts with ``"`` is quoted, ``""`` inside it is a ``"``). Where Go would fail (a
    ``"`` inside an unquoted field, text after a closing quote) or silently drop the rest of the value (a newline
    outside quotes starts a second record, which cobra never reads), this raises :class:`CmdArgError`."""
    if value == "":
        return []
    fields: list[str] = []
    i, n = 0, len(value)
    hint = ("quote the whole item CSV-style, doubling any \" inside: "
            "--cmd-args '\"msg=a, b and \"\"c\"\"\"'")
    while True:
        if i < n and value[i] == '"':
            i += 1
            buf: list[str] = []
            while True:
                j = value.find('"', i)
                if j < 0:
                    raise CmdArgError(f"--cmd-args {value!r}: a quoted field has no closing \" ({hint})")
                buf.append(value[i:j])
                i = j + 1
                if i < n and value[i] == '"':
                    buf.append('"')
                    i += 1
                    continue
                break
            fields.append("".join(buf))
            if i == n:
                return fields
            if value[i] != ",":
                raise CmdArgError(f"--cmd-args {value!r}: text after a closing quote ({hint})")
            i += 1
            continue
        j = value.find(",", i)
        field = value[i:] if j < 0 else value[i:j]
        if '"' in field:
            raise CmdArgError(f"--cmd-args {value!r}: a \" inside an unquoted item ({hint})")
        if "\n" in field or "\r" in field:
            raise CmdArgError(f"--cmd-args {value!r}: a line break outside quotes ({hint})")
        fields.append(field)
        if j < 0:
            return fields
        i = j + 1


def parse_flags(values: Sequence[str]) -> dict[str, str]:
    """Every ``--cmd-args`` value (repeatable, each split as :func:`split_flag_value`) → a map; empty items are
    skipped (as sealer does); a key given twice is an error."""
    items = [item for v in values for item in split_flag_value(v) if item != ""]
    for item in items:
        if "=" not in item and any("," in v for v in values):
            raise CmdArgError(f"--cmd-args: {item!r} is not KEY=VALUE: a comma separates items (as in sealer), "
                              "so a value with a comma needs CSV quotes: --cmd-args '\"msg=a,b\"'")
    return parse_items(items, "--cmd-args")
