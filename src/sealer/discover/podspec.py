"""Kubernetes objects in a YAML document and the images of every pod template they embed (strict mode).

A *pod spec* is any mapping whose ``containers`` is a sequence of mappings — wherever it sits, so
Deployments, CronJobs (``spec.jobTemplate.spec.template.spec``), custom resources embedding pod
templates and bare Pods are all covered without a list of kinds. CRD schemas never match: there
``containers`` is a schema object, not a sequence. Only string scalars count as images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sealer.discover.safeyaml import Budget, duplicate_keys, get, get_str, mapping_items, scalar_str

CONTAINER_LISTS = (("containers", "container"), ("initContainers", "initContainer"),
                   ("ephemeralContainers", "ephemeralContainer"))
SKIPPED_KINDS = frozenset({"CustomResourceDefinition"})
HELM_TEST_HOOKS = frozenset({"test", "test-success", "test-failure"})


@dataclass(frozen=True)
class K8sObject:
    node: Node
    kind: str
    name: str
    helm_test: bool

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}" if self.name else self.kind


@dataclass(frozen=True)
class Hit:
    """A candidate image string at a place in a document."""

    raw: str
    line: int | None
    detail: str
    extended: bool
    helm_test: bool


def objects(root: Node, budget: Budget) -> Iterator[K8sObject]:
    """Kubernetes objects of a document (``kind: List`` / ``*List`` wrappers unwrapped); the rest is skipped."""
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        budget.tick(node)
        budget.depth(depth, node)
        if not isinstance(node, MappingNode):
            continue
        kind = get_str(node, "kind")
        if kind is None or get_str(node, "apiVersion") is None:
            continue
        items = get(node, "items")
        if kind.endswith("List") and isinstance(items, SequenceNode):
            stack.extend((item, depth + 1) for item in reversed(items.value))
            continue
        if kind in SKIPPED_KINDS:
            continue
        meta = get(node, "metadata")
        name = ""
        helm_test = False
        if meta is not None:
            name = get_str(meta, "name") or get_str(meta, "generateName") or ""
            hook = get_str(meta, "annotations", "helm.sh/hook") or ""
            helm_test = any(h.strip() in HELM_TEST_HOOKS for h in hook.split(","))
        yield K8sObject(node, kind, name, helm_test)


def pod_spec_images(obj: K8sObject, budget: Budget) -> list[Hit]:
    """Images of every pod spec inside ``obj``: containers, initContainers, ephemeralContainers, image volumes."""
    hits: list[Hit] = []
    seen: set[tuple[str, int | None, str]] = set()  # anchors/merge keys can show one spec twice
    stack: list[tuple[Node, int]] = [(obj.node, 0)]
    while stack:
        node, depth = stack.pop()
        budget.depth(depth, node)
        if isinstance(node, MappingNode):
            items = mapping_items(node)
            budget.tick(node, 1 + len(items))
            if _is_pod_spec(node):
                hits.extend(h for h in _pod_spec_hits(node, obj, budget) if (h.raw, h.line, h.detail) not in seen)
                seen.update((h.raw, h.line, h.detail) for h in hits)
            stack.extend((v, depth + 1) for _, v in reversed(items) if not isinstance(v, ScalarNode))
        elif isinstance(node, SequenceNode):
            budget.tick(node, 1 + len(node.value))
            stack.extend((v, depth + 1) for v in reversed(node.value) if not isinstance(v, ScalarNode))
    return hits


def _is_pod_spec(node: MappingNode) -> bool:
    containers = get(node, "containers")
    if not isinstance(containers, SequenceNode) or not containers.value:
        return False
    return all(isinstance(c, MappingNode) for c in containers.value) and any(
        get(c, "image") is not None or get(c, "name") is not None for c in containers.value)


def _pod_spec_hits(spec: MappingNode, obj: K8sObject, budget: Budget) -> list[Hit]:
    hits: list[Hit] = []
    for key, word in CONTAINER_LISTS:
        seq = get(spec, key)
        if not isinstance(seq, SequenceNode):
            continue
        for c in seq.value:
            budget.tick(c)
            image = get(c, "image") if isinstance(c, MappingNode) else None
            raw = scalar_str(image)
            if raw is None or image is None:
                continue
            cname = get_str(c, "name") or "?"
            if "image" in duplicate_keys(c):
                budget.notes.append(f"{budget.origin}:{budget.line(image)}: {obj.label} {word} {cname} has the "
                                    "key image more than once; the last one is used, as Kubernetes does "
                                    "(kubectl apply --validate=strict refuses such a document)")
            hits.append(Hit(raw.strip(), budget.line(image), f"{obj.label} {word} {cname}", False, obj.helm_test))
    volumes = get(spec, "volumes")
    if isinstance(volumes, SequenceNode):
        for v in volumes.value:
            budget.tick(v)
            ref_node = get(v, "image") if isinstance(v, MappingNode) else None
            ref = get(ref_node, "reference") if ref_node is not None else None
            raw = scalar_str(ref)
            if raw is not None and ref is not None:
                vname = get_str(v, "name") or "?"
                hits.append(Hit(raw.strip(), budget.line(ref), f"{obj.label} volume {vname}", False, obj.helm_test))
    return hits
