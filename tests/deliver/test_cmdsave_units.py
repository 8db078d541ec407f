"""spec.cmd / spec.appNames without hosts: read from a Clusterfile (sealer v0.9's json tags), saved back with the
cluster, bad values refused with their path, and which choice delivery uses (flags, Clusterfile, saved)."""

from __future__ import annotations

import pytest

from sealer.cluster.clusterfile import parse_clusterfile
from sealer.deliver.launch import launch_commands
from sealer.deliver.ops import cluster_from_flags, with_launch
from sealer.deliver.state import Saved, dump_cluster
from sealer.errors import ClusterConfigError

CF = """apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: c1}
spec:
  image: app:v1
%s  hosts: [{ips: [127.0.0.2], roles: [master]}]
"""


@pytest.mark.parametrize(("extra", "cmds", "apps"), [
    ("", None, None),
    ("  cmd: null\n", None, None),
    ("  cmd: []\n", (), None),
    ('  cmd: ["echo a; b", "kubectl apply -f x.yaml"]\n', ("echo a; b", "kubectl apply -f x.yaml"), None),
    ("  cmd: [42]\n", ("42",), None),
    ("  appNames: [web, chart]\n", None, ("web", "chart")),
    ("  appnames: [web]\n", None, ("web",)),       # Go's encoding/json matches field names case-insensitively
    ('  appNames: [""]\n', None, ()),              # sealer v0.9: an empty name launches nothing
    ("  appNames: []\n", None, ()),
    ("  cmd: [x]\n  appNames: [web]\n", ("x",), ("web",)),
])
def test_spec_cmd_and_app_names_read_and_saved_back(extra: str, cmds: tuple[str, ...] | None,
                                                     apps: tuple[str, ...] | None) -> None:
    c = parse_clusterfile(CF % extra)
    assert (c.cmds, c.apps) == (cmds, apps)
    again = parse_clusterfile(dump_cluster(c))
    # cmd: [] (the image's own CMDs) is saved as no cmd at all: what run would have chosen without --cmds
    assert (again.cmds, again.apps) == (cmds or None, apps)


@pytest.mark.parametrize(("extra", "message"), [
    ("  cmd: echo x\n", "spec.cmd: expected a list, got a string"),
    ("  cmd: [echo, {a: 1}]\n", "spec.cmd[1]: expected a string, got a mapping"),
    ("  appNames: web\n", "spec.appNames: expected a list"),
    ("  appNames: [[web]]\n", "spec.appNames[0]: expected a string, got a list"),
    ("  appNames: [a]\n  appnames: [b]\n", "spec.appNames is given too"),
    ("  cmds: [x]\n", "spec.cmds: unknown field (did you mean cmd?)"),
])
def test_bad_spec_cmd_and_app_names(extra: str, message: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(CF % extra)
    assert message in str(e.value)


def _saved(extra: str) -> Saved:
    return Saved(parse_clusterfile(CF % extra), "app:v1", "/var/lib/sealer/data")


@pytest.mark.parametrize(("extra", "saved", "cmds", "apps", "want"), [
    ("", None, None, None, (None, None)),                                   # first apply, nothing chosen
    ("", '  cmd: ["run chose"]\n', None, None, (("run chose",), None)),     # join / plain re-apply: kept
    ("", "  appNames: [web]\n", None, None, (None, ("web",))),
    ("  cmd: [file]\n", '  cmd: ["run chose"]\n', None, None, (("file",), None)),  # the Clusterfile chooses
    ("  cmd: []\n", '  cmd: ["run chose"]\n', None, None, ((), None)),      # [] = back to the image's own
    ("  cmd: [file]\n", None, ["flag"], None, (("flag",), None)),           # --cmds over spec.cmd
    ("  cmd: [file]\n", None, None, ["web"], (("file",), ("web",))),        # field by field (v0.9)
    ("", '  cmd: ["run chose"]\n', None, ["web"], (None, ("web",))),        # --apps alone replaces the saved pair
    ("  appNames: [a]\n", "  appNames: [b]\n", None, [], (None, ())),        # --apps '' launches nothing
])
def test_which_launch_choice_delivery_uses(extra: str, saved: str | None, cmds: list[str] | None,
                                           apps: list[str] | None,
                                           want: tuple[tuple[str, ...] | None, tuple[str, ...] | None]) -> None:
    got = with_launch(parse_clusterfile(CF % extra), _saved(saved) if saved is not None else None, cmds, apps)
    assert (got.cmds, got.apps) == want


def test_run_always_chooses() -> None:
    """``sealer run`` describes the whole cluster: without --cmds it asks for the image's own CMDs (not the saved
    choice of an earlier run), and its choice is what the state dir keeps."""
    from sealer.cluster.clusterfile import SSH

    plain = cluster_from_flags("c1", "app:v1", ["127.0.0.2"], [], SSH(), {})
    assert with_launch(plain, _saved('  cmd: ["earlier"]\n')).cmds == ()
    chosen = cluster_from_flags("c1", "app:v1", ["127.0.0.2"], [], SSH(), {}, cmds=["x"], apps=["web"])
    back = parse_clusterfile(dump_cluster(chosen))
    assert (back.cmds, back.apps) == (("x",), ("web",))


def test_empty_cmd_lines_are_skipped() -> None:
    assert launch_commands(["own"], ["base"], None, ["", "  ", "x"]) == ["base", "x"]
    assert launch_commands(["own"], ["base"], None, [""]) == ["base"]
