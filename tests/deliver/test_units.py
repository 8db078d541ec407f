"""Delivery parts that need no host: imageRepository rule, manifest diff, join parsing, Clusterfile round trip."""

from __future__ import annotations

from pathlib import Path

from sealer.cluster.clusterfile import SSH, parse_clusterfile
from sealer.deliver import imagerepo, manifest, ops, state, steps

REPOS = "registry/docker/registry/v2/repositories"


def repo(root: Path, name: str) -> None:
    (root / REPOS / name / "_manifests").mkdir(parents=True)


def test_image_repository_follows_the_cached_core_images(tmp_path: Path) -> None:
    v08, v07, none = tmp_path / "v08", tmp_path / "v07", tmp_path / "none"
    for n in ("kube-apiserver", "pause", "coredns/coredns"):
        repo(v08, n)
    for n in ("library/kube-apiserver", "library/pause", "library/coredns"):
        repo(v07, n)
    repo(none, "library/nginx")
    got = imagerepo.choose(v08, "sea.hub:5000")
    assert (got.image_repository, got.dns_repository) == ("sea.hub:5000", "sea.hub:5000/coredns")
    got = imagerepo.choose(v07, "sea.hub:5000")
    assert (got.image_repository, got.dns_repository) == ("sea.hub:5000/library", None)
    assert imagerepo.choose(none, "sea.hub:5000").image_repository is None


def test_manifest_diff_sends_only_changes(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "a").write_text("one")
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "blob").write_text("x")
    (tmp_path / "gone").write_text("old")
    old = manifest.build_manifest(tmp_path)
    assert "registry/blob" not in manifest.for_host(old, with_registry=False)
    (tmp_path / "bin" / "a").write_text("two")
    (tmp_path / "gone").unlink()
    (tmp_path / "new").write_text("n")
    send, remove = manifest.diff(old, manifest.build_manifest(tmp_path))
    assert sorted(send) == ["bin/a", "new"] and remove == ["gone"]


def test_join_command_parsed_like_sealer() -> None:
    out = ("kubeadm join apiserver.cluster.local:6443 --token abcdef.0123456789abcdef \\\n"
           "\t--discovery-token-ca-cert-hash sha256:" + "a" * 64 + " \\\n\t--control-plane --certificate-key "
           + "b" * 64 + "\n")
    assert steps.parse_join(out) == {"token": "abcdef.0123456789abcdef", "caCertHash": "sha256:" + "a" * 64,
                                     "certificateKey": "b" * 64}
    assert steps.parse_join("no join here") is None


def test_saved_clusterfile_reads_back(tmp_path: Path) -> None:
    c = ops.cluster_from_flags("c1", "img:v1", ["10.0.0.2"], ["10.0.0.3", "10.0.0.4"],
                               SSH(user="root", passwd="s3cret", port=2222), {"A": "1"})
    path = state.save(tmp_path, c, "img:v1", "/data")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = parse_clusterfile(path.read_text())
    assert (back.masters, back.nodes, back.env, back.ssh_for("10.0.0.3").port) == (
        ["10.0.0.2"], ["10.0.0.3", "10.0.0.4"], {"A": "1"}, 2222)
    saved = state.load(tmp_path, "c1")
    assert saved is not None and saved.data_root == "/data" and saved.image == "img:v1"


def test_hosts_script_rewrites_in_place() -> None:
    s = steps.hosts_script("c1", [("10.0.0.2", "sea.hub")])
    assert "cat \"$T\" > /etc/hosts" in s and "mv " not in s and "sed -i" not in s


def test_docker_daemon_json_merge_keeps_what_was_there() -> None:
    text, changed = steps.docker_daemon_merge(b'{"log-driver": "json-file", "registry-mirrors": ["http://m"]}',
                                              "http://sea.hub:5000", "sea.hub:5000")
    import json

    doc = json.loads(text)
    assert changed and doc["log-driver"] == "json-file"
    assert doc["registry-mirrors"] == ["http://m", "http://sea.hub:5000"]
    assert doc["insecure-registries"] == ["sea.hub:5000"]
    again, changed2 = steps.docker_daemon_merge(text, "http://sea.hub:5000", "sea.hub:5000")
    assert not changed2 and json.loads(again) == doc


def test_kubeadm_config_preview_shows_the_delivered_image_repository(tmp_path: Path) -> None:
    """`sealer kubeadm-config` applies the same imageRepository rule as delivery (one place: apply_choice)."""
    import json as _json

    from click.testing import CliRunner

    from sealer.cli.main import cli

    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "Metadata").write_text(_json.dumps({"version": "v1.25.0", "arch": "amd64"}))
    for n in ("kube-apiserver", "pause", "coredns/coredns"):
        repo(root, n)
    cf = Path(__file__).parents[1] / "cluster" / "golden" / "Clusterfile"
    r = CliRunner().invoke(cli, ["--root", str(tmp_path / "store"), "kubeadm-config", str(root), "-f", str(cf),
                                 "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    docs = {d["kind"]: d["data"] for d in _json.loads(r.output)["documents"]}
    assert docs["ClusterConfiguration"]["imageRepository"] == "sea.hub:5000"
    assert docs["ClusterConfiguration"]["dns"]["imageRepository"] == "sea.hub:5000/coredns"


def test_split_balances_streams_and_keeps_parent_directories(tmp_path: Path) -> None:
    root = tmp_path / "r"
    for i, size in enumerate([5000, 4000, 3000, 3000, 1000]):
        d = root / "registry" / f"d{i}"
        d.mkdir(parents=True)
        (d / "blob").write_bytes(b"x" * size)
    (root / "registry" / "empty").mkdir()
    paths = [p for p in manifest.entries(root) if manifest.in_registry(p)]
    assert manifest.entries(root) == sorted(manifest.build_manifest(root))
    groups = manifest.split(root, paths, 6000, 4)
    assert len(groups) == 3  # 16000 bytes in streams of about 6000
    sizes = sorted(sum((root / p).stat().st_size for p in g if (root / p).is_file()) for g in groups)
    assert sizes == [5000, 5000, 6000]
    assert {p for g in groups for p in g} == set(paths)  # every entry goes, directories maybe twice
    for g in groups:
        for f in (p for p in g if (root / p).is_file()):
            assert "registry" in g and f.rsplit("/", 1)[0] in g  # parents travel with their files
    assert "registry/empty" in groups[0]
    assert manifest.split(root, paths, 1 << 30, 4) == [sorted(paths)]  # small: one stream


def test_session_step_writes_marker_only_after_the_work() -> None:
    text = steps.session_step(0, [("/d/f", b"data", 0o600)], "false\n", ("/d/phases.json", b"{}"), last=False)
    work, marker, ack = text.index("eval"), text.index("phases.json"), text.index("read -r _ack")
    assert work < text.index("rc=$?") < marker < text.index(f"{steps.SESSION_TAG}done 0") < ack


def test_manifest_without_registry_equals_the_host_view(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "a").write_text("x")
    (tmp_path / "registry" / "docker").mkdir(parents=True)
    (tmp_path / "registry" / "docker" / "blob").write_text("y" * 1000)
    full = manifest.build_manifest(tmp_path)
    assert manifest.build_manifest(tmp_path, with_registry=False) == manifest.for_host(full, with_registry=False)
    assert "registry/docker/blob" in full


def test_manifest_takes_a_registry_blob_digest_from_its_path(tmp_path: Path) -> None:
    import hashlib

    data = b"layer bytes"
    hexd = hashlib.sha256(data).hexdigest()
    blob = tmp_path / "registry/docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    bad = "ab" + "0" * 62  # a name that is not its content's hash: the name is trusted, the file not read
    (blob.parents[2] / "ab" / bad).mkdir(parents=True)
    (blob.parents[2] / "ab" / bad / "data").write_bytes(data)
    odd = blob.parents[2] / ("cd" if hexd[:2] != "cd" else "ce") / hexd  # not the blob layout: hashed
    odd.mkdir(parents=True)
    (odd / "data").write_bytes(b"other")
    (tmp_path / "registry/docker/registry/v2/repositories/x").mkdir(parents=True)
    link = tmp_path / "registry/docker/registry/v2/repositories/x/link"
    link.write_text("sha256:" + hexd)
    got = manifest.build_manifest(tmp_path)
    rel = blob.relative_to(tmp_path).as_posix()
    assert got[rel] == f"f:{hexd}:{blob.stat().st_mode & 0o777:o}"
    assert got[f"registry/docker/registry/v2/blobs/sha256/ab/{bad}/data"].startswith(f"f:{bad}:")
    other = hashlib.sha256(b"other").hexdigest()
    assert got[(odd / "data").relative_to(tmp_path).as_posix()].startswith(f"f:{other}:")
    link_hash = hashlib.sha256(link.read_bytes()).hexdigest()
    assert got["registry/docker/registry/v2/repositories/x/link"].startswith(f"f:{link_hash}:")
    blob.write_bytes(b"changed in place")  # a blob is immutable by its name: a change of content is not seen
    assert manifest.build_manifest(tmp_path)[rel] == got[rel]


def test_host_session_runs_steps_in_one_shell_until_one_fails(tmp_path: Path) -> None:
    import asyncio

    import pytest

    from sealer.deliver.engine import _HostSession, _StepFailed
    from sealer.infra.local import LocalHost

    async def main() -> None:
        sess = _HostSession(LocalHost("127.0.0.1"))
        try:
            out, _ = await sess.step([(str(tmp_path / "f"), b"data", 0o600)], "printf no-newline\n",
                                     (str(tmp_path / "phases.json"), b"{}"), 60)
            assert out == "no-newline" and (tmp_path / "f").read_bytes() == b"data"
            out, _ = await sess.step([], "echo $PPID\n", None, 60)
            again, _ = await sess.step([], "echo $PPID\n", None, 60)
            assert out == again  # the same remote shell evaluates every step
            with pytest.raises(_StepFailed) as info:
                await sess.step([], "echo why >&2; exit 7\n", (str(tmp_path / "never.json"), b"{}"), 60)
            assert "exit code 7" in str(info.value) and info.value.tail == "why"
            assert not (tmp_path / "never.json").exists()
            with pytest.raises(_StepFailed):  # the shell ended: no further step runs
                await sess.step([], "touch " + str(tmp_path / "late") + "\n", None, 60)
            assert not (tmp_path / "late").exists()
        finally:
            await sess.close()
        sess = _HostSession(LocalHost("127.0.0.1"))
        with pytest.raises(_StepFailed, match="timed out"):  # a step that outlives its time is killed
            await sess.step([], f"echo $$ > {tmp_path}/pid; exec sleep 30\n", None, 1.0)
        pid = int((tmp_path / "pid").read_text())
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()

    asyncio.run(main())
