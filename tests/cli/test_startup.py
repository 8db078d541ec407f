"""Issue 17 start-up: the CLI imports only what a command uses. Structural checks (no timing here; the figures are
in bench/startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sealer.cli.main import COMMANDS, cli, load_command

HEAVY = ("httpx", "httpcore", "rich.progress", "yaml", "helm_python", "asyncssh", "docker",
         "alibabacloud_ecs20140526")


def _loaded_after(code: str, tmp_path: Path) -> list[str]:
    """The modules (heavy ones, sealer.cli.*, sealer.interop*) present in a fresh interpreter after running ``code``."""
    probe = (code + "\nimport json, sys\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             f"{sorted({h.split('.')[0] for h in HEAVY})!r} or m.startswith(('sealer.cli.', 'sealer.interop')))))")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                       env={"PATH": "/usr/bin:/bin", "SEALER_ROOT": str(tmp_path / "root"), "HOME": str(tmp_path)})
    loaded: list[str] = json.loads(r.stdout.splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded_after("import sealer.cli.main", tmp_path)
    assert [m for m in loaded if m in HEAVY] == []
    assert "rich" not in loaded  # not even Rich's console: piped output never needs it
    commands_modules = {module for module, _ in COMMANDS.values()}
    assert [m for m in loaded if m in commands_modules] == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["images"]])
def test_light_commands_stay_light(argv: list[str], tmp_path: Path) -> None:
    code = ("import sys\nfrom sealer.cli.main import cli\n"
            f"try:\n    cli({argv!r}, prog_name='sealer')\nexcept SystemExit as e:\n    assert not e.code, e.code\n")
    loaded = _loaded_after(code, tmp_path)
    assert [m for m in loaded if m in HEAVY] == []
    assert "rich" not in loaded  # piped: plain text, Rich is for terminals
    if argv == ["images"]:
        assert "sealer.cli.images" in loaded and "sealer.cli.registry" not in loaded
        assert "sealer.interop" not in loaded  # the old-format readers are for inspect only
    else:
        assert "sealer.cli.images" not in loaded


def test_help_lists_every_command_from_the_table() -> None:
    r = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    listed = r.output.split("Commands:\n", 1)[1].split()
    names = [line.split()[0] for line in r.output.split("Commands:\n", 1)[1].splitlines() if line.strip()]
    assert names == sorted(COMMANDS)
    for name, (_, text) in COMMANDS.items():
        assert text.split()[0] in listed, name


def test_table_matches_the_command_modules() -> None:
    """The name and one-line help kept in sealer.cli.main are those of the command each module defines, and every
    command a module defines is in the table."""
    for name, (_, text) in COMMANDS.items():
        cmd = load_command(name)
        assert isinstance(cmd, click.Command) and cmd.name == name
        assert cmd.get_short_help_str(limit=1000) == text, name
    import importlib

    for module in {m for m, _ in COMMANDS.values()}:
        for cmd in importlib.import_module(module).commands:
            assert cmd.name in COMMANDS and COMMANDS[cmd.name][0] == module, cmd.name


def test_help_of_a_command_and_unknown_command() -> None:
    r = CliRunner().invoke(cli, ["inspect", "--help"])
    assert r.exit_code == 0 and "Usage: cli inspect [OPTIONS] REF" in r.output
    r = CliRunner().invoke(cli, ["nosuch"])
    assert r.exit_code == 2 and "No such command 'nosuch'" in r.output
