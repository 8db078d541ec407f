"""CMD arguments without hosts: the flag's CSV items, the Clusterfile's spec.cmd_args, and the rewritten CMD lines
run by a real bash the way the cmds phase runs them (``( eval LINE )``), checking the argv the CMD receives."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from sealer.cluster.clusterfile import parse_clusterfile
from sealer.cluster.cmdargs import CmdArgError, parse_flags, split_flag_value
from sealer.deliver.cmdargs import render, render_cmd, unused
from sealer.deliver.errors import DeliveryError
from sealer.deliver.state import dump_cluster
from sealer.errors import ClusterConfigError

NASTY = "it's a \"test\"; $(touch /tmp/pwned) `id` & | > < * ? [a] ~ \\ $HOME ${X} \t\ttabs"
ARGV = 'printf "%s\\0"'   # the CMD prints each argument it got, NUL-terminated


def argv_of(line: str) -> list[str]:
    """Run ``line`` as the cmds phase does and return the argv its printf saw."""
    r = subprocess.run(["bash", "-c", f"set -e; ( eval {shlex.quote(line)} )"], capture_output=True, timeout=10,
                       check=True)
    out = r.stdout.decode()
    assert out.endswith("\0") or out == "", out
    return out.split("\0")[:-1]


def run(cmd: str, args: dict[str, str]) -> list[str]:
    return argv_of(render_cmd(cmd, args))


def test_values_arrive_whole_and_are_never_parsed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    canary = tmp_path / "pwned"
    nasty = NASTY.replace("/tmp/pwned", str(canary)) + "\nsecond line"
    args = {"Msg": nasty, "Word": "two  words", "Empty": "", "Glob": "*"}
    got = run(f"cd {shlex.quote(str(tmp_path))} && touch f1 f2 && {ARGV} $Msg \"${{Msg}}\" x${{Word}}y $Empty "
              f"\"$Empty\" $Glob '$Msg' \\$Msg \"pre-$Word-post\"", args)
    assert got == [nasty, nasty, "xtwo  wordsy", "", "*", "$Msg", "$Msg", "pre-two  words-post"]
    assert not canary.exists()


def test_operators_follow_sealer_and_unknown_names_stay_the_shell_s() -> None:
    args = {"E": "", "R": "prod", "P": "a/b/c"}
    assert run(f'{ARGV} ${{E:-def}} "${{E-unset}}" ${{R:+alt}} ${{R:-x}} ${{#R}} ${{P%/*}}', args) == \
        ["def", "", "alt", "prod", "4", "a/b"]
    # names that are not CMD args, special parameters and command substitutions are the shell's
    got = run(f'N=1; {ARGV} "$N" ${{N:-no}} $R "$(printf %s "$R")" `echo $R` $(( ${{#R}} + 1 )) $#', args)
    assert got == ["1", "1", "prod", "prod", "prod", "5", "0"]


def test_lines_without_references_are_unchanged() -> None:
    cmds = ["kubectl apply -f a.yaml", "echo $PATH", "echo '$R'", "echo \\$R # costs $R"]
    assert render(cmds, {"R": "x"}) == cmds
    assert render(["echo $R"], {}) == ["echo $R"]
    assert unused(["echo $A", "echo ${B:-b}"], {"A": "1", "B": "2", "C": "3"}) == ["C"]


@pytest.mark.parametrize(("cmd", "args", "message"), [
    ("echo ${Need:?give Need}", {"Need": ""}, "Need is empty (give Need)"),
    ("echo '$R", {"R": "x"}, "single quote is not closed"),
    ('echo "$R', {"R": "x"}, "double quote is not closed"),
    ("echo ${R", {"R": "x"}, "${ is not closed"),
    ("echo $(echo $R", {"R": "x"}, "$( is not closed"),
])
def test_unusable_lines_fail_before_anything_runs(cmd: str, args: dict[str, str], message: str) -> None:
    with pytest.raises(DeliveryError) as e:
        render([cmd], args)
    assert message in str(e.value) and cmd in str(e.value)


def test_flag_values_split_like_cobra_string_slice() -> None:
    assert split_flag_value("a=1,b=2") == ["a=1", "b=2"]
    assert split_flag_value('"msg=x, y ""q""",b=2') == ['msg=x, y "q"', "b=2"]
    assert split_flag_value('"m=line1\nline2"') == ["m=line1\nline2"]
    assert split_flag_value("") == []
    assert parse_flags(["A=it's; $(x)", "B=", "C==x=", "D=1,E=2"]) == \
        {"A": "it's; $(x)", "B": "", "C": "=x=", "D": "1", "E": "2"}


@pytest.mark.parametrize(("values", "message"), [
    (["msg=a,b"], "a comma separates items"),
    (["noequals"], "expected KEY=VALUE"),
    (["bad-key=1"], "'bad-key' is not a valid name"),
    (["1x=1"], "is not a valid name"),
    (["A=1", "A=2"], "A is given twice"),
    (['say="hi"'], 'a " inside an unquoted item'),
    (['"a=1"x'], "text after a closing quote"),
    (['"a=1'], "has no closing"),
    (["a=1\nb=2"], "line break outside quotes"),
    (["a=x\0y"], "NUL"),
])
def test_bad_flag_values_are_clear_errors(values: list[str], message: str) -> None:
    with pytest.raises(CmdArgError) as e:
        parse_flags(values)
    assert message in str(e.value)


CF = """apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: c1}
spec:
  image: app:v1
  cmd_args: %s
  hosts: [{ips: [127.0.0.2], roles: [master]}]
"""


def test_clusterfile_cmd_args_read_and_saved_back() -> None:
    c = parse_clusterfile(CF % '[Release=prod, "Msg=a b; $(c)", "Empty="]')
    assert dict(c.cmd_args) == {"Release": "prod", "Msg": "a b; $(c)", "Empty": ""}
    again = parse_clusterfile(dump_cluster(c))
    assert dict(again.cmd_args) == dict(c.cmd_args)
    assert dict(parse_clusterfile(CF % "[]").cmd_args) == {}


@pytest.mark.parametrize(("value", "message"), [
    ("[novalue]", "spec.cmd_args[0]: 'novalue': expected KEY=VALUE"),
    ("[a-b=1]", "is not a valid name"),
    ("[A=1, A=2]", "spec.cmd_args[1]: A is given twice"),
    ("A=1", "expected a list"),
    ("[{A: 1}]", "expected KEY=VALUE, got a mapping"),
])
def test_clusterfile_bad_cmd_args(value: str, message: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(CF % value)
    assert message in str(e.value)
