"""sealer v0.9+ Kubefile instructions: ARG/ENV/LABEL/KUBEVERSION/APP/APPCMDS/APPENV/CNI/CSI/LAUNCH/CMDS.

Each error rule of sealer's parser (build/kubefile/parser/kubefile.go at sealerio/sealer f4f89c5) has a case
with the line number we report.
"""

from __future__ import annotations

import pytest

from sealer.errors import KubefileError
from sealer.kubefile import App, AppCmds, Arg, Cmd, Cmds, Copy, From, Launch, check_apps, parse
from sealer.kubefile.shellex import ExpandError, expand

BAD: list[tuple[str, str, int, str]] = [
    ("APPCMDS not JSON", "FROM scratch\nAPP a local://x.yaml\nAPPCMDS a kubectl apply -f x.yaml\n", 3,
     "APPCMDS a: want a JSON array of shell commands"),
    ("APPCMDS unknown app", "FROM scratch\nAPP a local://x.yaml\nAPPCMDS b [\"x\"]\n", 3,
     "APPCMDS: app 'b' does not exist in the image; apps defined: a"),
    ("APPCMDS before its APP", "FROM scratch\nAPPCMDS a [\"x\"]\nAPP a local://x.yaml\n", 2,
     "app 'a' does not exist"),
    ("APPENV unknown app", "FROM scratch\nAPPENV a k=v\n", 2, "APPENV: app 'a' does not exist in the image; no APP"),
    ("LAUNCH not last", "FROM scratch\nAPP a local://x.yaml\nLAUNCH [\"a\"]\nCOPY x y\n", 4,
     "LAUNCH must be the last instruction (it is at line 3)"),
    ("two LAUNCH", "FROM scratch\nAPP a local://x.yaml\nLAUNCH a\nLAUNCH a\n", 4,
     "only one LAUNCH may be given (the first is at line 3)"),
    ("two CMDS", "FROM scratch\nCMDS [\"a\"]\n\nCMDS [\"b\"]\n", 4, "only one CMDS may be given (the first is at line 2)"),
    ("CMDS not last", "FROM scratch\nCMDS [\"a\"]\nRUN true\n", 3, "CMDS must be the last instruction"),
    ("CMDS and LAUNCH", "FROM scratch\nAPP a local://x.yaml\nLAUNCH [\"a\"]\nCMDS [\"b\"]\n", 4,
     "LAUNCH and CMDS are mutually exclusive"),
    ("CMD with LAUNCH", "FROM scratch\nAPP a local://x.yaml\nCMD kubectl get pods\nLAUNCH [\"a\"]\n", 4,
     "LAUNCH and CMD are mutually exclusive (CMD at line 3)"),
    ("CMD after LAUNCH", "FROM scratch\nAPP a local://x.yaml\nLAUNCH [\"a\"]\nCMD x\n", 4,
     "LAUNCH must be the last instruction"),
    ("CMD with CMDS", "FROM scratch\nCMD x\nCMDS [\"y\"]\n", 3, "CMDS and the deprecated CMD are mutually exclusive"),
    ("unknown app in LAUNCH", "FROM scratch\nAPP a local://x.yaml\nLAUNCH [\"a\", \"b\"]\n", 3,
     "LAUNCH: app 'b' does not exist in the image; apps defined: a"),
    ("APP source without scheme", "FROM scratch\nAPP a x.yaml\n", 2,
     "APP a: source 'x.yaml' has no scheme; write local://x.yaml"),
    ("APP ftp scheme", "FROM scratch\nAPP a ftp://h/x.yaml\n", 2, "has no scheme"),
    ("APP without source", "FROM scratch\nAPP a\n", 2, "APP a needs at least one source"),
    ("APP twice", "FROM scratch\nAPP a local://x\nAPP a local://y\n", 3, "already defined at line 2"),
    ("CNI source without scheme", "FROM scratch\nCNI calico calico.sh\n", 2, "CNI calico: source 'calico.sh' has no"),
    ("LAUNCH empty", "FROM scratch\nLAUNCH []\n", 2, "LAUNCH needs a non-empty JSON array"),
    ("ARG bad name", "FROM scratch\nARG 1x=2\n", 2, "ARG: invalid name '1x'"),
    ("ARG in FROM missing", "ARG TAG\nFROM kubernetes:${TAG}\n", 2,
     "'kubernetes:${TAG}' expanded to 'kubernetes:': declare ARG NAME=DEFAULT before FROM"),
    ("unterminated ${", "FROM scratch\nCOPY ${A b\n", 2, "COPY: unexpected end of statement"),
    ("${x:?} unset", "FROM scratch\nCOPY ${A:?set-A} b\n", 2, "COPY: A: set-A"),
    ("KUBEVERSION empty", "FROM scratch\nKUBEVERSION\n", 2, "KUBEVERSION needs a version constraint"),
    ("LABEL not k=v", "FROM scratch\nLABEL a\n", 2, "LABEL 'a': want key=value"),
    ("COPY before FROM", "ARG A=1\nCOPY a b\nFROM scratch\n", 2, "the first instruction must be FROM"),
]


@pytest.mark.parametrize(("text", "line", "phrase"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_sealer_error_rules(text: str, line: int, phrase: str) -> None:
    with pytest.raises(KubefileError) as info:
        parse(text, "ctx/Kubefile")
    err = info.value
    assert (err.file, err.line) == ("ctx/Kubefile", line), str(err)
    assert phrase in err.message, str(err)
    assert str(err).startswith(f"ctx/Kubefile:{line}: ")


def test_appcmds_launch_and_apps_as_sealer_fixture() -> None:
    kf = parse('FROM scratch\nAPP yamlapp local://yamlcontext\nAPP shellapp local://shellcontext\n'
               'APP mixedapp local://install.sh local://mixedcontext\n'
               'APPCMDS mixedapp ["kubectl apply -f app.yaml"]\nLAUNCH ["mixedapp","shellapp"]\n')
    assert [a.name for a in kf.apps] == ["yamlapp", "shellapp", "mixedapp"]
    assert kf.apps[2].sources == ("local://install.sh", "local://mixedcontext")
    assert kf.app_cmds == {"mixedapp": ("kubectl apply -f app.yaml",)}
    launch = kf.launch
    assert isinstance(launch, Launch) and launch.apps == ("mixedapp", "shellapp")
    assert launch.location.line == 6


def test_launch_plain_word_and_cmds() -> None:
    kf = parse("FROM scratch\nAPP myapp local://app.yaml\nLAUNCH myapp\n")
    assert kf.launch is not None and kf.launch.apps == ("myapp",)
    kf = parse('FROM scratch\nCOPY app.yaml manifests/\nCMDS ["kubectl apply -f manifests/app.yaml", "bash x.sh"]\n')
    cmds = kf.cmds_instruction
    assert isinstance(cmds, Cmds) and cmds.commands == ("kubectl apply -f manifests/app.yaml", "bash x.sh")


def test_json_cmd_is_a_list_of_shell_commands(caplog: pytest.LogCaptureFixture) -> None:
    kf = parse('FROM scratch\nCMD ["kubectl apply -f a.yaml", "kubectl apply -f b.yaml"]\nCMD helm install x\n')
    first, second = kf.cmds
    assert isinstance(first, Cmd)
    assert first.commands == ("kubectl apply -f a.yaml", "kubectl apply -f b.yaml")
    assert second.commands == ("helm install x",)
    assert "CMD is deprecated" in caplog.text and "Kubefile:2" in caplog.text


def test_app_from_base_checked_later() -> None:
    text = "FROM kubernetes:v1.22.15\nAPPENV calico a=b\nLAUNCH [\"calico\"]\n"
    kf = parse(text)                         # base apps unknown: deferred
    check_apps(kf, ["calico"])
    with pytest.raises(KubefileError) as info:
        check_apps(kf, [])
    assert info.value.line == 2 and "APPENV: app 'calico' does not exist" in info.value.message
    with pytest.raises(KubefileError):
        parse(text, inherited_apps=["other"])
    assert parse(text, inherited_apps=["calico"]).launch is not None


def test_arg_forms_and_build_args() -> None:
    kf = parse("ARG TAG=v1.22.15\nFROM kubernetes:${TAG}\nARG A=1,B=2\nARG C\nCOPY $A/${B}/${C:-none} x\n")
    base = kf.base
    assert isinstance(base, From) and base.image == "kubernetes:v1.22.15"
    args = [i for i in kf.instructions if isinstance(i, Arg)]
    assert [a.pairs for a in args] == [(("TAG", "v1.22.15"),), (("A", "1"), ("B", "2")), (("C", None),)]
    copy = kf.steps[-1]
    assert isinstance(copy, Copy) and copy.sources == ("1/2/none",)
    kf = parse("ARG TAG=v1\nFROM kubernetes:$TAG\nARG C\nCOPY ${C} x\n", build_args={"TAG": "v2", "C": "c"})
    assert kf.base.image == "kubernetes:v2"
    copy = kf.steps[-1]
    assert isinstance(copy, Copy) and copy.sources == ("c",)
    assert kf.instructions[0].text == "FROM kubernetes:v2"   # FROM first for the builder, ARG kept after


def test_env_label_kubeversion_cni_csi() -> None:
    kf = parse('FROM scratch\nENV A=1 B="two words"\nENV C ${A}-$B\nLABEL "cluster.alpha.sealer.io/x"="v1" k=v\n'
               'KUBEVERSION ">=1.20.0"\nCNI calico local://calico.sh\nCSI ebs local://ebs.yaml\nLAUNCH ["calico"]\n')
    assert kf.env == {"A": "1", "B": "two words", "C": "1-two words"}
    assert kf.labels == {"cluster.alpha.sealer.io/x": "v1", "k": "v",
                         "app.alpha.sealer.io/supported-kube-version": ">=1.20.0",
                         "cluster.alpha.sealer.io/kube-cni-calico": "true",
                         "cluster.alpha.sealer.io/kube-csi-ebs": "true"}
    assert [(a.kind, a.name) for a in kf.apps] == [("CNI", "calico"), ("CSI", "ebs")]
    assert isinstance(kf.apps[0], App) and kf.apps[0].text == "CNI calico local://calico.sh"


def test_appenv_appcmds_records() -> None:
    kf = parse('FROM scratch\nAPP a http://127.0.0.1/x.yaml\nAPPENV a k=v "m=two words"\nAPPENV a k=w\n'
               'APPCMDS a ["kubectl apply -f x.yaml","kubectl get pods"]\n')
    assert kf.app_env == {"a": {"k": "w", "m": "two words"}}
    cmds = kf.steps[-1]
    assert isinstance(cmds, AppCmds) and cmds.commands == ("kubectl apply -f x.yaml", "kubectl get pods")


def test_arch_in_copy_sources() -> None:
    text = "FROM scratch\nCOPY ${ARCH}/bin bin\nCOPY $ARCH/rpm ./rpm\n"
    for arch in ("amd64", "arm64"):
        kf = parse(text, arch=arch)
        assert [s.sources for s in kf.steps if isinstance(s, Copy)] == [(f"{arch}/bin",), (f"{arch}/rpm",)]
    unresolved = parse(text)
    assert [s.sources for s in unresolved.steps if isinstance(s, Copy)] == [("${ARCH}/bin",), ("${ARCH}/rpm",)]
    assert parse(unresolved.text, arch="arm64").steps[0].text == "COPY arm64/bin bin"


def test_from_as_name_and_platform() -> None:
    assert parse("FROM kubernetes:v1 AS base\n").base.image == "kubernetes:v1"
    kf = parse("FROM --platform=linux/arm64 kubernetes:v1\n")
    assert kf.base.platform == "linux/arm64" and kf.base.text == "FROM --platform=linux/arm64 kubernetes:v1"


@pytest.mark.parametrize(("word", "env", "want"), [
    ("${A}", {"A": "x"}, "x"),
    ("$A/b", {"A": "x"}, "x/b"),
    ("$A", {}, ""),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A-d}", {"A": ""}, ""),
    ("${A:+alt}", {"A": "x"}, "alt"),
    ("${A+alt}", {}, ""),
    ("'$A'", {"A": "x"}, "$A"),
    ('"$A b"', {"A": "x"}, "x b"),
    ("\\$A", {"A": "x"}, "$A"),
    ('"a\\b"', {}, "a\\b"),
    ("a$", {}, "a$"),
    ("${A:-${B}}", {"B": "y"}, "y"),
    ("$1x", {"1": "o"}, "ox"),
])
def test_shell_lexer_rules(word: str, env: dict[str, str], want: str) -> None:
    assert expand(word, env) == want


def test_shell_lexer_errors() -> None:
    for word in ("'a", '"a', "${A", "${}", "${A%x}"):
        with pytest.raises(ExpandError):
            expand(word, {})
