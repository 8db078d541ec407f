"""Without hosts: ``spec.registry.localRegistry.ha`` (sealer v0.9): which hosts run the registry, what the domain
resolves to on each host, the saved Clusterfile's round trip, the certificate's addresses and the error for a
value that is not a boolean."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.cluster.clusterfile import parse_clusterfile
from sealer.deliver import state, tls
from sealer.errors import ClusterConfigError

M = ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
N = ["10.0.0.9"]


def cf(local: str, masters: list[str] = M) -> str:
    return ("apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: c1}\nspec:\n"
            f"  registry:\n    localRegistry: {local}\n"
            f"  hosts:\n  - {{ips: [{', '.join(masters)}], roles: [master]}}\n"
            f"  - {{ips: [{', '.join(N)}], roles: [node]}}\n")


def test_ha_true_puts_the_registry_on_every_master() -> None:
    c = parse_clusterfile(cf("{ha: true, insecure: true}"))
    assert c.registry_access.ha and c.registry_hosts == M
    # a master resolves the domain to itself, a node to master0
    assert [c.registry_ip_for(ip) for ip in M + N] == [*M, M[0]]
    again = parse_clusterfile(state.dump_cluster(c))
    assert again.registry_access == c.registry_access and again.registry_hosts == M


@pytest.mark.parametrize("local", ["{}", "{domain: hub.local, insecure: false}"])
def test_localregistry_defaults_to_ha_as_sealer_v09(local: str) -> None:
    c = parse_clusterfile(cf(local))
    assert c.registry_access.ha and c.registry_hosts == M
    assert "ha: true" in state.dump_cluster(c)


@pytest.mark.parametrize("text", [cf("{ha: false}"),  # and our older forms (as sealer run): master0 alone
                                  cf("{}").replace("    localRegistry: {}\n", "    domain: hub.local\n"),
                                  cf("{}").replace("  registry:\n    localRegistry: {}\n", "")])
def test_without_ha_master0_alone(text: str) -> None:
    c = parse_clusterfile(text)
    assert not c.registry_access.ha and c.registry_hosts == M[:1]
    assert {c.registry_ip_for(ip) for ip in M + N} == {M[0]}
    again = parse_clusterfile(state.dump_cluster(c))
    assert not again.registry_access.ha and again.registry_hosts == M[:1]


def test_external_registry_has_no_registry_host() -> None:
    c = parse_clusterfile(cf("{ha: true}").replace(
        "localRegistry: {ha: true}", "externalRegistry: {domain: reg.example.com}"))
    assert c.registry_hosts == [] and c.registry_ip_for(M[1]) is None


def test_ha_must_be_a_boolean() -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(cf("{ha: 'yes'}"))
    assert "localRegistry.ha" in str(e.value) and "expected true or false" in str(e.value)


def test_certificate_covers_every_registry_host(tmp_path: Path) -> None:
    c = parse_clusterfile(cf("{ha: true, cert: {subjectAltName: {ips: [10.1.1.1]}}}"))
    t = tls.prepare(tmp_path, c, M[0])
    assert t is not None and set(t.ips) == {*M, "10.1.1.1"}
    single = parse_clusterfile(cf("{ha: false}"))
    assert tls.wanted_names(single, M[0])[1] == (M[0],)
