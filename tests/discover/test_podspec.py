"""Pod specs in YAML documents (``discover/podspec.py``): which mappings count as pod specs, what each hit says
(container kind and name, object label, line, helm test), List unwrapping, de-duplication, and the walk's budget.

Each expectation is written out by hand from Kubernetes' pod spec shape, not produced by the code under test."""

from __future__ import annotations

import pytest
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sealer.discover import images_from_yaml_text
from sealer.discover.podspec import objects, pod_spec_images
from sealer.discover.safeyaml import MAX_DEPTH, Budget, parse_document
from sealer.errors import DiscoveryError


def _found(text: str) -> list[tuple[str, str, int | None]]:
    """(image, source as users see it, line) of the strict hits, in document order."""
    return [(raw, str(src), src.line) for raw, src, ext in images_from_yaml_text(text, "m.yaml") if not ext]


def _walk(text: str) -> tuple[list[tuple[str, str, bool, int | None]], Budget]:
    root = parse_document(text, "m.yaml")
    assert root is not None
    budget = Budget("m.yaml", 1, 10_000)
    found = [h for obj in objects(root, budget) for h in pod_spec_images(obj, budget)]
    assert all(h.extended is False for h in found)     # pod spec hits are never "extended" (deep) ones
    return [(h.raw, h.detail, h.helm_test, h.line) for h in found], budget


def test_every_container_list_and_image_volume_in_order_with_names_and_lines() -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
  - {name: init, image: ' busybox:1 '}
  containers:
  - {name: main, image: nginx:1}
  - image: sidecar:2
  ephemeralContainers:
  - {name: dbg, image: debug:3}
  volumes:
  - {name: data, image: {reference: quay.io/x/data:1}}
  - image: {reference: quay.io/x/noname:1}
  - {name: plain, emptyDir: {}}
"""
    assert _found(text) == [
        ("nginx:1", "m.yaml#1 Pod/p container main", 8),
        ("sidecar:2", "m.yaml#1 Pod/p container ?", 9),
        ("busybox:1", "m.yaml#1 Pod/p initContainer init", 6),   # whitespace around the value stripped
        ("debug:3", "m.yaml#1 Pod/p ephemeralContainer dbg", 11),
        ("quay.io/x/data:1", "m.yaml#1 Pod/p volume data", 13),
        ("quay.io/x/noname:1", "m.yaml#1 Pod/p volume ?", 14),
    ]


def test_label_without_a_name_uses_generate_name_then_the_kind_alone() -> None:
    spec = "spec: {containers: [{name: a, image: x:1}]}\n"
    assert _found("apiVersion: v1\nkind: Pod\nmetadata: {generateName: gen-}\n" + spec)[0][1] == \
        "m.yaml#1 Pod/gen- container a"
    assert _found("apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: b}}\n" + spec)[0][1] == "m.yaml#1 Pod container a"
    assert _found("apiVersion: v1\nkind: Pod\n" + spec)[0][1] == "m.yaml#1 Pod container a"


@pytest.mark.parametrize("hook,is_test", [
    ("test", True), ("test-success", True), ("test-failure", True), ("pre-install, test-success", True),
    ("pre-install,test", True),
    ("pre-install,post-install", False), ("tests", False), ("", False),
])
def test_helm_test_hooks_mark_the_hits(hook: str, is_test: bool) -> None:
    text = (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: t, annotations: {{helm.sh/hook: '{hook}'}}}}\n"
            "spec: {containers: [{name: a, image: x:1}], volumes: [{name: v, image: {reference: r:1}}]}\n")
    hits, _ = _walk(text)
    assert hits == [("x:1", "Pod/t container a", is_test, 4), ("r:1", "Pod/t volume v", is_test, 4)]
    assert all(h[2] is is_test for h in hits)
    assert _found(text)[0][1] == "m.yaml#1 Pod/t container a" + (" (helm test)" if is_test else "")


def test_list_wrappers_are_unwrapped_in_order_and_other_items_are_not() -> None:
    items = "".join(f"- {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}}}, "
                    f"spec: {{containers: [{{name: a, image: 'img{i}:1'}}]}}}}\n" for i in range(3))
    assert [raw for raw, _, _ in _found("apiVersion: v1\nkind: PodList\nitems:\n" + items)] == [
        "img0:1", "img1:1", "img2:1"]
    # a kind ending in List whose items are not a sequence is an ordinary object (its own pod spec counts)
    weird = "apiVersion: x/v1\nkind: ThingList\nitems: {a: 1}\nspec: {containers: [{name: c, image: own:1}]}\n"
    assert _found(weird) == [("own:1", "m.yaml#1 ThingList container c", 4)]
    # a kind not ending in List with a sequence of items is not unwrapped: the items are looked into as data
    nolist = "apiVersion: x/v1\nkind: Bundle\nitems:\n" + items
    assert [d for _, d, _ in _found(nolist)] == ["m.yaml#1 Bundle container a"] * 3


def test_objects_need_kind_and_api_version_and_crds_are_skipped() -> None:
    spec = "metadata: {name: n}\nspec: {containers: [{name: a, image: x:1}]}\n"
    assert _found("kind: Pod\n" + spec) == []
    assert _found("apiVersion: v1\n" + spec) == []
    assert _found("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n" + spec) == []
    assert _found("apiVersion: v1\nkind: Pod\n" + spec) == [("x:1", "m.yaml#1 Pod/n container a", 4)]


@pytest.mark.parametrize("containers,images", [
    ("[]", []),                                              # empty: not a pod spec
    ("['junk', {name: a, image: x:1}]", []),                 # not all mappings: not a pod spec
    ("[{foo: 1}, {name: a, image: x:1}]", ["x:1"]),          # one container with a name or image is enough
    ("[{name: a}]", []),                                     # a pod spec without images
    ("[{image: x:1}]", ["x:1"]),
    ("[{name: a, image: 42}, {name: b, image: null}, {name: c, image: ''}, {name: d, image: y:2}]", ["", "y:2"]),
    ("{name: a, image: x:1}", []),                           # a mapping, not a sequence
])
def test_what_makes_a_pod_spec(containers: str, images: list[str]) -> None:
    text = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: {containers}}}\n"
    assert [raw for raw, _, _ in _found(text)] == images


def test_non_mapping_entries_in_other_lists_are_ignored() -> None:
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: x:1}]
  initContainers: ['junk', {name: i, image: i:1}]
  volumes: ['junk', {name: v}, {name: w, image: 'not-a-mapping'}, {name: z, image: {reference: 7}}]
"""
    assert [raw for raw, _, _ in _found(text)] == ["x:1", "i:1"]


def test_initcontainers_alone_do_not_make_a_pod_spec() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {initContainers: [{name: i, image: i:1}]}\n"
    assert _found(text) == []


def test_nested_pod_specs_each_found_and_an_anchor_reused_is_reported_once() -> None:
    text = """apiVersion: example.com/v1
kind: Pipeline
metadata: {name: pl}
spec:
  first: {template: {spec: &pod {containers: [{name: a, image: one:1}]}}}
  second: {template: {spec: *pod}}
  third: {template: {spec: {containers: [{name: b, image: two:2}]}}}
"""
    assert _found(text) == [("one:1", "m.yaml#1 Pipeline/pl container a", 5),
                            ("two:2", "m.yaml#1 Pipeline/pl container b", 7)]


def test_same_image_at_two_places_is_two_hits() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
            "  containers: [{name: a, image: x:1}, {name: b, image: x:1}]\n"
            "  initContainers: [{name: a, image: x:1}]\n")
    assert [d for _, d, _ in _found(text)] == ["m.yaml#1 Pod/p container a", "m.yaml#1 Pod/p container b",
                                               "m.yaml#1 Pod/p initContainer a"]


def test_duplicate_image_key_uses_the_last_and_leaves_a_note() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: old:1\n" \
           "    image: new:2\n  - {name: b, image: fine:1}\n"
    hits, budget = _walk(text)
    assert [h[0] for h in hits] == ["new:2", "fine:1"]
    assert budget.notes == ["m.yaml:8: Pod/p container a has the key image more than once; the last one is used, "
                            "as Kubernetes does (kubectl apply --validate=strict refuses such a document)"]


def _count_visits(node: Node) -> int:
    """Each mapping and sequence once, plus once per entry (a key/value pair or an item) it holds."""
    if isinstance(node, MappingNode):
        return 1 + len(node.value) + sum(_count_visits(v) for _, v in node.value)
    if isinstance(node, SequenceNode):
        return 1 + len(node.value) + sum(_count_visits(v) for v in node.value)
    assert isinstance(node, ScalarNode)
    return 0


def test_the_walk_spends_the_budget_once_per_node() -> None:
    """Independent count of the walk (see ``_count_visits``), plus one more per container and volume entry read
    by the pod-spec reader, plus the root once in ``objects``."""
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}}\nspec:\n"
            "  containers: [{name: a, image: x:1, args: [p, q]}, {name: b, image: y:1}]\n"
            "  initContainers: [{name: i, image: z:1}]\n"
            "  volumes: [{name: v, image: {reference: r:1}}, {name: w, emptyDir: {}}]\n")
    root = parse_document(text, "m.yaml")
    assert root is not None
    budget = Budget("m.yaml", 1, 10_000)
    (obj,) = objects(root, budget)
    assert budget.visits == 1
    pod_spec_images(obj, budget)
    entries = 2 + 1 + 2   # containers, initContainers, volumes
    assert budget.visits == 1 + _count_visits(root) + entries


def _nested(levels: int) -> str:
    """A custom resource whose pod spec sits ``levels`` mappings below the object."""
    body = "{containers: [{name: a, image: deep:1}]}"
    for _ in range(levels):
        body = "{n: " + body + "}"
    return f"apiVersion: x/v1\nkind: Deep\nmetadata: {{name: d}}\nspec: {body}\n"


def test_nesting_limit_is_exact() -> None:
    # object = depth 0, spec 1, each wrapper one more: the pod spec at levels+1, containers levels+2, a container
    # levels+3, which may be MAX_DEPTH and no more
    ok = MAX_DEPTH - 3
    hits, _ = _walk(_nested(ok))
    assert [h[0] for h in hits] == ["deep:1"]
    with pytest.raises(DiscoveryError, match=f"nesting deeper than {MAX_DEPTH}") as e:
        _walk(_nested(ok + 1))
    assert e.value.line == 4


def _lists(levels: int) -> Node:
    text = "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: x:1}]}}"
    for _ in range(levels):
        text = f"{{apiVersion: v1, kind: List, items: [{text}]}}"
    root = parse_document(text, "m.yaml")
    assert root is not None
    return root


def test_list_nesting_counts_towards_the_limit() -> None:
    budget = Budget("m.yaml", 1, 10_000)
    assert [o.label for o in objects(_lists(MAX_DEPTH), budget)] == ["Pod/p"]
    with pytest.raises(DiscoveryError, match=f"nesting deeper than {MAX_DEPTH}") as e:
        list(objects(_lists(MAX_DEPTH + 1), Budget("m.yaml", 1, 10_000)))
    assert e.value.line == 1


def test_containers_with_names_only_still_make_a_pod_spec_for_its_volumes() -> None:
    base = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [%s], volumes: [{name: v, image: {reference: r:1}}]}\n"
    assert [raw for raw, _, _ in _found(base % "{name: a}")] == ["r:1"]
    assert [raw for raw, _, _ in _found(base % "{args: [x]}")] == []     # neither a name nor an image


def test_list_items_that_are_not_objects_are_skipped_not_the_end() -> None:
    pod = "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: x:1}]}}"
    text = (f"apiVersion: v1\nkind: List\nitems:\n- just a string\n- {{apiVersion: v1}}\n- {{kind: Pod}}\n"
            f"- {{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {{name: c}}}}\n"
            f"- {pod}\n")
    assert _found(text) == [("x:1", "m.yaml#1 Pod/p container a", 8)]


def test_object_fields_without_metadata() -> None:
    root = parse_document("apiVersion: v1\nkind: Pod\n", "m.yaml")
    assert root is not None
    (obj,) = objects(root, Budget("m.yaml", 1, 10_000))
    assert (obj.kind, obj.name, obj.helm_test, obj.label) == ("Pod", "", False, "Pod")
    assert obj.name == "" and obj.helm_test is False


def _exhausted_at(text: str, limit: int) -> int | None:
    """The line a walk with ``limit`` visits stops at (the error names the node where the budget ran out)."""
    root = parse_document(text, "m.yaml")
    assert root is not None
    budget = Budget("m.yaml", 1, 10_000)
    budget.limit = limit
    with pytest.raises(DiscoveryError, match="alias expansion exceeds") as e:
        for obj in objects(root, budget):
            pod_spec_images(obj, budget)
    return e.value.line


def test_budget_errors_name_the_node_where_the_budget_ran_out() -> None:
    # the object itself a pod spec: objects 1, its mapping 1 + 4 entries, then each container, then each volume
    spec = "apiVersion: v1\nkind: X\ncontainers:\n- name: a\n  image: x:1\nvolumes:\n- name: v\n"
    assert _exhausted_at(spec, 0) == 1          # the object, in objects()
    assert _exhausted_at(spec, 1) == 1          # its mapping, in the pod spec walk
    assert _exhausted_at(spec, 6) == 4          # the container
    assert _exhausted_at(spec, 7) == 7          # the volume
    # a sequence that is not in a pod spec: objects 1, mapping 1 + 3, then the sequence
    assert _exhausted_at("apiVersion: v1\nkind: X\nlist:\n- [a]\n", 5) == 4
