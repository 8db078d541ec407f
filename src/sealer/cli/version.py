"""``sealer version [--short | --json]``: this sealer's version, the Python running it and the platform it builds
for by default (as sealer's own ``version`` command reports its build). :func:`answer` is click-free, so
:mod:`sealer.cli.main` answers ``sealer version`` without loading click; the click command (for ``--help`` and
the command table) prints the same text."""

from __future__ import annotations

import sys

from sealer import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import click

FLAGS = {"--short": "short", "--json": "json"}


def info() -> dict[str, str]:
    """The facts ``sealer version --json`` prints (camelCase keys, as every --json output)."""
    from sealer.oci.model import host_platform

    v = sys.version_info
    return {"version": __version__, "pythonVersion": f"{v.major}.{v.minor}.{v.micro}",
            "platform": str(host_platform())}


def render(form: str) -> str:
    """The text for ``form``: "text", "short" or "json"."""
    if form == "short":
        return __version__
    facts = info()
    if form == "json":
        import json

        return json.dumps(facts, indent=2)
    return f"sealer {facts['version']}\npython {facts['pythonVersion']}, default platform {facts['platform']}"


def answer(args: list[str]) -> str | None:
    """The output for ``sealer version ARGS`` when ARGS is at most one known flag; None: click decides (help,
    errors)."""
    if len(args) > 1:
        return None
    if not args:
        return render("text")
    form = FLAGS.get(args[0])
    return None if form is None else render(form)


def _command() -> click.Command:
    import click

    @click.command("version")
    @click.option("--short", "form", flag_value="short", help="Print the version number only.")
    @click.option("--json", "form", flag_value="json", help="Print version, Python and platform as JSON.")
    def version(form: str | None) -> None:
        """Show sealer's version, the Python running it and the default build platform.

        \b
        Examples:
          sealer version
          sealer version --short
          sealer version --json
        """
        click.echo(render(form or "text"))

    return version


_made: list[click.Command] = []


def __getattr__(name: str) -> list[click.Command]:
    """``commands`` (the table's protocol) made on first use, so the click-free path never loads click."""
    if name == "commands":
        if not _made:
            _made.append(_command())
        return _made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
