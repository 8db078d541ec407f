"""Issue 17 start-up: the CLI imports only what a command uses. Structural checks (no timing here; the figures are
in bench/startup.py)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from helpers.cli import Sealer

from sealer.cli import helptext
from sealer.cli.main import COMMANDS, cli, load_command, top_level_help
from sealer.cli.table import DEBUG_HELP, HELP, ROOT_HELP

HEAVY = ("httpx", "httpcore", "rich.progress", "yaml", "helm_python", "asyncssh", "docker",
         "alibabacloud_ecs20140526")
# what a command that only reads the store (`images`, `inspect`) has no use for: the store lock, tar and
# compression code, archives, the file-copying and temp-file modules a write needs
NOT_FOR_READING = ("filelock", "tarfile", "isal", "zstandard", "shutil", "tempfile", "sealer.store.archive",
                   "sealer.compression", "sealer.tario.extract", "sealer.registry", "sealer.imagecache",
                   "sealer.discover", "sealer.cluster")


def _loaded_after(code: str, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    """Every module present in a fresh interpreter after running ``code`` (its output goes to stdout too)."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                       env={"PATH": "/usr/bin:/bin", "SEALER_ROOT": str(tmp_path / "root"), "HOME": str(tmp_path),
                            **(env or {})})
    loaded: list[str] = json.loads(r.stdout.splitlines()[-1])
    return loaded


def _after_main(argv: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    """The modules loaded by a ``sealer ARGV`` process (the console script's code path: ``main()``)."""
    code = ("import sys\nsys.argv = ['sealer', *" + repr(argv) + "]\nfrom sealer.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n")
    return _loaded_after(code, tmp_path, env)


def _under(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == n or m.startswith(n + ".") for n in names)]


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded_after("import sealer.cli.main", tmp_path)
    assert _under(loaded, HEAVY) == []
    assert "rich" not in loaded  # not even Rich's console: piped output never needs it
    assert "click" not in loaded  # the group (sealer.cli.group) is imported when a command runs
    commands_modules = {module for module, _ in COMMANDS.values()}
    assert [m for m in loaded if m in commands_modules] == []


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]])
def test_help_and_version_load_no_click(argv: list[str], tmp_path: Path) -> None:
    loaded = _after_main(argv, tmp_path)
    assert _under(loaded, ("click", "rich", "sealer.cli.group", *HEAVY)) == []
    assert [m for m in loaded if m in {module for module, _ in COMMANDS.values()}] == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["images"]])
def test_light_commands_stay_light(argv: list[str], tmp_path: Path) -> None:
    """Through click itself (``cli(...)``, as the tests' runner calls it), not only through main()."""
    code = ("import sys\nfrom sealer.cli.main import cli\n"
            f"try:\n    cli({argv!r}, prog_name='sealer')\nexcept SystemExit as e:\n    assert not e.code, e.code\n")
    loaded = _loaded_after(code, tmp_path)
    assert _under(loaded, HEAVY) == []
    assert "rich" not in loaded  # piped: plain text, Rich is for terminals
    if argv == ["images"]:
        assert "sealer.cli.images" in loaded and "sealer.cli.registry" not in loaded
        assert _under(loaded, ("sealer.interop", "sealer.carried")) == []  # the old-format readers: inspect only
    else:
        assert "sealer.cli.images" not in loaded


@pytest.fixture
def small_image(tmp_path: Path) -> Path:
    """A store holding small:v1 (built with -b lite), inspected once (its carried-images scan is memoised)."""
    root = tmp_path / "root"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nCMD echo hi\n")
    run = Sealer(root)
    run("build", "-q", "-b", "lite", "-t", "small:v1", str(ctx))
    run("inspect", "small:v1")
    return root


@pytest.mark.parametrize("argv", [["images"], ["images", "--json"], ["inspect", "small:v1"],
                                  ["inspect", "--json", "small:v1"]])
def test_reading_commands_load_only_what_reading_needs(argv: list[str], small_image: Path, tmp_path: Path) -> None:
    """`images` and `inspect` (piped, as in bench/startup.py) read index.json and a few blobs: no Rich, no YAML,
    no network code, no lock, no tar or compression code; `images` not even the old-format readers."""
    loaded = _after_main(argv, tmp_path)
    assert _under(loaded, ("rich", *HEAVY, *NOT_FOR_READING)) == []
    assert "sealer.cli.images" in loaded
    assert [m for m in loaded if m in {module for module, _ in COMMANDS.values()} - {"sealer.cli.images"}] == []
    if argv[0] == "images":
        assert _under(loaded, ("sealer.interop", "sealer.carried", "sealer.apps")) == []
    else:
        assert "sealer.carried.show" in loaded  # it did read the image's carried images (from the memo)


NETWORK_AND_DISCOVERY = ("rich", *HEAVY, "sealer.registry", "sealer.imagecache", "sealer.discover", "sealer.cluster",
                         "tenacity", "urllib.request", "http.client", "ssl")


def test_noop_rebuild_loads_no_network_nor_discovery_code(tmp_path: Path) -> None:
    """A rebuild whose every step and image-caching stage is cached pulls nothing and discovers nothing: the
    registry client (httpx), the image cache, discovery, the cluster/YAML readers and Rich stay unloaded. The
    first build of the same context, whose stage misses, does load discovery and the image cache (so the check
    has something to find)."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nCMD echo hi\n")
    argv = ["build", "-q", "-b", "lite", "-t", "small:v1", str(ctx)]
    cold = _after_main(argv, tmp_path)
    assert "sealer.discover" in cold and "sealer.imagecache.cache" in cold
    for args in (argv, argv[:1] + argv[2:]):  # -q, and piped step lines without it
        loaded = _after_main(args, tmp_path)
        assert "sealer.build.executor" in loaded
        assert _under(loaded, NETWORK_AND_DISCOVERY) == [], args


def test_quiet_lite_build_of_an_image_list_loads_no_yaml_rich_nor_httpx_cli(registry: Any, tmp_path: Path) -> None:
    """A quiet lite build whose context has only an imageList pulls (httpx loads) but has no YAML to read, no chart
    to render and no display to draw: PyYAML, the YAML scanner, the chart machinery, Rich and httpx's own
    command-line tool (click + Rich + Pygments, which httpx imports whenever they are installed) stay unloaded.
    The same build with a manifest does load the scanner and PyYAML (so the check has something to find)."""
    from helpers.registry import push_test_image

    push_test_image(registry, "startup/app:v1", [1000], seed=3)
    ctx = tmp_path / "ctx"
    (ctx / "manifests").mkdir(parents=True)
    (ctx / "manifests" / "imageList").write_text(registry.ref("startup/app:v1") + "\n")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY manifests manifests\n")
    argv = ["build", "-q", "-b", "lite", "--insecure-registry", registry.host, "-t", "list:v1", str(ctx)]
    loaded = _after_main(argv, tmp_path)
    assert "httpx" in loaded and "sealer.imagecache.stream" in loaded, "it did pull"
    assert _under(loaded, ("yaml", "rich", "pygments", "sealer.discover.scanner", "sealer.discover.charts",
                           "sealer.discover.safeyaml")) == []
    (ctx / "manifests" / "app.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: a}}\nspec:\n  containers:\n"
        f"  - {{name: a, image: {registry.ref('startup/app:v1')}}}\n")
    loaded = _after_main(argv[:-2] + ["with-yaml:v1", str(ctx)], tmp_path)
    assert "sealer.discover.scanner" in loaded and "yaml" in loaded


def test_help_without_click_is_clicks_help() -> None:
    """`sealer --help` rendered from the table (no click) is click's rendering of the group, at every width
    click may use (CliRunner's terminal_width is the formatter's width itself, below click's floor of 50 too)."""
    for width in range(12, 161):
        r = CliRunner().invoke(cli, ["--help"], terminal_width=width, prog_name="sealer")
        assert r.exit_code == 0, r.output
        assert r.output == top_level_help(width=width) + "\n", width


def test_the_group_uses_the_table_text() -> None:
    assert cli.help == HELP
    params = {p.name: p for p in cli.params}
    assert params["root"].help == ROOT_HELP and params["debug"].help == DEBUG_HELP
    ctx = click.Context(cli, info_name="sealer")
    records = [p.get_help_record(ctx) for p in cli.get_params(ctx)]
    assert records == [("--root PATH", ROOT_HELP), ("--debug", DEBUG_HELP),
                       ("--version", helptext.VERSION_OPTION_HELP), ("-h, --help", helptext.HELP_OPTION_HELP)]


@pytest.mark.parametrize("columns", [None, "1", "40", "60", "81", "100", "101", "102", "250", "junk"])
@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]])
def test_console_output_matches_click(argv: list[str], columns: str | None, tmp_path: Path) -> None:
    """The process's stdout and exit status equal those of the click group given the same arguments, with the
    terminal width taken from COLUMNS as click takes it."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | ({"COLUMNS": columns} if columns else {})
    fast = subprocess.run([sys.executable, "-m", "sealer.cli.main", *argv], capture_output=True, text=True, env=env)
    code = f"from sealer.cli.group import cli\ncli({argv!r}, prog_name='sealer')"
    slow = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 0 and fast.stdout.startswith("Usage: sealer" if argv != ["--version"] else "sealer, ")


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


# `sealer version`: answered without click with the same output as the click command
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _both(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    fast = subprocess.run([sys.executable, "-m", "sealer.cli.main", *argv], capture_output=True, text=True)
    code = f"from sealer.cli.group import cli\ncli({argv!r}, prog_name='sealer')"
    slow = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return fast, slow


@pytest.mark.parametrize("argv", [["version"], ["version", "--short"], ["version", "--json"]])
def test_version_without_click_prints_what_the_command_prints(argv: list[str], tmp_path: Path) -> None:
    fast, slow = _both(argv)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 0 and fast.stdout.strip()
    assert _under(_after_main(argv, tmp_path), ("click", "rich", "sealer.cli.group")) == []


def test_version_facts_come_from_the_installed_package_and_the_interpreter() -> None:
    fast, _ = _both(["version", "--json"])
    facts = json.loads(fast.stdout)
    assert facts["version"] == importlib.metadata.version("sealer-py")
    assert facts["pythonVersion"] == platform.python_version()
    assert facts["platform"] == "linux/" + ARCH.get(platform.machine(), platform.machine())
    short, _ = _both(["version", "--short"])
    assert short.stdout == facts["version"] + "\n"
    text, _ = _both(["version"])
    assert text.stdout.splitlines()[0] == f"sealer {facts['version']}"


@pytest.mark.parametrize("argv", [["version", "--bad"], ["version", "extra"], ["version", "--short", "--json"],
                                  ["version", "--help"]])
def test_anything_else_goes_to_click(argv: list[str]) -> None:
    fast, slow = _both(argv)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == (2 if argv[1] in ("--bad", "extra") else 0)
