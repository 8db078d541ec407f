"""Extended (``--deep``) discovery: image references outside pod specs.

Operators pull images named in their args (``--prometheus-config-reloader=quay.io/...:v0.93.0``), env
(``CSI_PROVISIONER_IMAGE``), ConfigMaps (a CSI image set, a Pod template held as a string) and custom
resources (``spec.image``). String values of Kubernetes objects are examined, where an image is plausible:

- **positions**: values only (never mapping keys); not labels, selectors, affinity, tolerations,
  topology spread constraints or RBAC (``rules``, ``resourceNames``, the RBAC kinds), webhook and
  APIService objects; not scalars under ``key``/``topologyKey``/``operator``;
- **keyed** strings — under a key (or env ``name``, or ``--flag``) ending in ``image``/``images`` —
  are accepted when they parse as a reference and carry a ``/``, a tag or a digest (or the key is
  exactly ``image``);
- **free** strings are split into whole tokens (whitespace, ``,`` and ``;``); a token made of anything
  but reference characters (``f"{name}:{tag}"``, ``${REGISTRY}/x``, ``"%s:%s"``) is code, not an image;
  a token counts only when it is unmistakably an image: an explicit registry host plus a tag/digest
  (or a well-known registry host), or ``org/name`` with a version-like tag or a digest;
- **sibling fields** of one mapping are joined: ``registry`` + ``repository``/``image`` (``name`` under an
  image-named key) + ``tag``/``version`` + ``digest`` → ``registry/repository:tag@digest``;
- known artifacts that are not container images (Trivy's vulnerability DB repositories) are refused;
- multi-line strings (or one-line JSON) that parse as YAML (an embedded Pod template) are scanned like
  manifests.

CRDs are never scanned (their schemas and prose mention images everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sealer.discover.podspec import Hit, K8sObject
from sealer.discover.safeyaml import Budget, mapping_items, scalar_str
from sealer.errors import ReferenceError_
from sealer.reference import Reference, parse

KNOWN_REGISTRIES = frozenset({
    "docker.io", "index.docker.io", "registry-1.docker.io", "quay.io", "gcr.io", "ghcr.io",
    "registry.k8s.io", "k8s.gcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com",
    "nvcr.io", "registry.access.redhat.com", "registry.redhat.io", "docker.elastic.co", "cr.l5d.io",
    "container-registry.oracle.com", "icr.io", "cgr.dev", "registry.suse.com",
})
KNOWN_REGISTRY_SUFFIXES = (".gcr.io", ".pkg.dev", ".azurecr.io", ".aliyuncs.com", ".icr.io", ".quay.io")
_ECR = re.compile(r"\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
# OCI artifacts that are not container images (Trivy's DB / checks bundles), by repository path.
NOT_IMAGES = frozenset({
    "aquasec/trivy-db", "aquasecurity/trivy-db", "aquasec/trivy-java-db", "aquasecurity/trivy-java-db",
    "aquasec/trivy-checks", "aquasecurity/trivy-checks", "aquasecurity/trivy-policies",
})
SKIPPED_KEYS = frozenset({
    "apiVersion", "kind", "managedFields", "imagePullPolicy", "imagePullSecrets", "ownerReferences", "finalizers",
    "labels", "selector", "matchLabels", "matchExpressions", "nodeSelector", "nodeSelectorTerms", "affinity",
    "tolerations", "topologySpreadConstraints", "labelSelector", "namespaceSelector", "objectSelector",
    "rules", "resourceNames", "aggregationRule", "key", "topologyKey", "operator",
})
SKIPPED_KINDS = frozenset({
    "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "APIService", "PriorityClass",
})
_TOKEN_SPLIT = re.compile(r"[\s,;]+")
_OUTER = "\"'`()[]<>"
_PLAIN = re.compile(r"^[A-Za-z0-9._/:@+-]+$")
_FLAG = re.compile(r"^(-{0,2}[A-Za-z0-9_.-]+)=([\"']?)([A-Za-z0-9._/:@+-]+)\2$")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+)+([-+._][\w.-]*)?$")
_TAG_TEXT = re.compile(r"^[\w][\w.-]{0,127}$")
_TRAILING = ".:;,)"
MAX_EMBEDDED = 1 << 20
MAX_TOKEN = 512
BASE_KEYS = ("repository", "image")
TAG_KEYS = ("tag", "version")


def is_image_key(key: str) -> bool:
    k = key.lower().rstrip("s")
    return k.endswith("image") and not k.endswith("pullimage")


def _ref(text: str) -> Reference | None:
    if not text or "{{" in text or "://" in text or len(text) > MAX_TOKEN:
        return None
    try:
        return parse(text, default_tag=False)
    except ReferenceError_:
        return None


def not_an_image(ref: Reference) -> bool:
    """A known OCI artifact that is not a container image."""
    return ref.path in NOT_IMAGES


def _explicit_domain(text: str) -> bool:
    first, sep, _ = text.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def _known_registry(domain: str) -> bool:
    return domain in KNOWN_REGISTRIES or domain.endswith(KNOWN_REGISTRY_SUFFIXES) or bool(_ECR.search(domain))


def keyed_image(text: str, key: str) -> bool:
    """A value stored under an image-named key: any well-formed reference with some structure."""
    text = text.strip()
    ref = _ref(text)
    if ref is None or not any(c.isalpha() for c in text) or not_an_image(ref):
        return False
    if text.lower() in {"none", "true", "false", "null", "latest", "always", "ifnotpresent", "never"}:
        return False
    return "/" in text or ref.tag is not None or ref.digest is not None or key.lower() == "image"


def free_image(token: str) -> bool:
    """A token in free text that is unmistakably an image reference."""
    token = token.strip().rstrip(_TRAILING)
    if "/" not in token:
        return False
    ref = _ref(token)
    if ref is None or not_an_image(ref):
        return False
    if _explicit_domain(token):
        return ref.tag is not None or ref.digest is not None or _known_registry(ref.domain)
    if ref.digest is not None:
        return True
    return ref.tag is not None and bool(_VERSION_TAG.match(ref.tag))


def tokens(text: str) -> list[tuple[str, str]]:
    """Whole tokens of free text as ``(flag, value)`` (flag empty for a bare token); code is dropped."""
    out: list[tuple[str, str]] = []
    for raw in _TOKEN_SPLIT.split(text):
        token = raw.strip(_OUTER)
        if not token:
            continue
        m = _FLAG.match(token)
        if m:
            out.append((m.group(1), m.group(3)))
        elif _PLAIN.match(token):
            out.append(("", token))
    return out


def _scalar_text(node: Node | None) -> str | None:
    """A string scalar, or the text of a number (``tag: 15.4``)."""
    text = scalar_str(node)
    if text is None and isinstance(node, ScalarNode) and isinstance(node.value, str) and not node.style:
        text = node.value if _TAG_TEXT.match(node.value) else None
    return text.strip() if text is not None else None


def joined_reference(items: list[tuple[Node, Node]], parent_key: str) -> tuple[str, str, Node, set[int]] | None:
    """``registry`` + ``repository``/``image``/``name`` + ``tag``/``version`` + ``digest`` siblings as one
    reference: ``(text, repository key, its value node, ids of the value nodes used)``, or None.

    ``name`` (and ``version`` with it) count only under an image-named key, so ``{name, version}`` pairs
    such as chart dependencies or plugins never join."""
    fields: dict[str, Node] = {}
    for k, v in items:
        if isinstance(k, ScalarNode) and isinstance(k.value, str):
            fields[k.value] = v
    image_parent = bool(parent_key) and is_image_key(parent_key)
    base_key = next((k for k in BASE_KEYS if scalar_str(fields.get(k))), None)
    if base_key is None and image_parent and scalar_str(fields.get("name")):
        base_key = "name"
    if base_key is None:
        return None
    base_node = fields[base_key]
    base = (scalar_str(base_node) or "").strip()
    tag_keys = TAG_KEYS if (image_parent or base_key != "name") else ("tag",)
    tag_key = next((k for k in tag_keys if _scalar_text(fields.get(k))), None)
    tag = _scalar_text(fields.get(tag_key)) if tag_key else None
    digest = (scalar_str(fields.get("digest")) or "").strip()
    registry = (scalar_str(fields.get("registry")) or "").strip().rstrip("/")
    if not (tag or digest or registry) or not base:
        return None
    current = _ref(base)
    if current is None or current.tag is not None or current.digest is not None:
        return None
    text = f"{registry}/{base}" if registry and not _explicit_domain(base) else base
    if tag:
        text += f":{tag}"
    if digest and ":" in digest:
        text += f"@{digest}"
    ref = _ref(text)
    if ref is None or not_an_image(ref):
        return None
    used = {id(base_node)} | {id(fields[k]) for k in ("registry", "digest", *(k for k in [tag_key] if k)) if k in fields}
    return text, base_key, base_node, used


class DeepScanner:
    """Walks one object, reporting extended hits through ``emit``."""

    def __init__(self, obj: K8sObject, budget: Budget, embedded: Callable[[str, str], list[Hit]]) -> None:
        self.obj = obj
        self.budget = budget
        self.embedded = embedded
        self.hits: list[Hit] = []

    def run(self) -> list[Hit]:
        if self.obj.kind not in SKIPPED_KINDS:
            self._walk(self.obj.node, "", "", 0)
        return self.hits

    def _emit(self, raw: str, node: Node, path: str) -> None:
        detail = f"{self.obj.label} {path.lstrip('.') or '.'} (extended)"
        self.hits.append(Hit(raw.strip().rstrip(_TRAILING) if "/" in raw else raw.strip(),
                             self.budget.line(node), detail, True, self.obj.helm_test))

    def _walk(self, node: Node, key: str, path: str, depth: int) -> None:
        self.budget.tick(node)
        self.budget.depth(depth, node)
        if isinstance(node, MappingNode):
            items = mapping_items(node)
            used: set[int] = set()
            joined = joined_reference(items, key)
            if joined is not None:
                joined_text, base_key, base_node, used = joined
                self._emit(joined_text, base_node, f"{path}.{base_key}")
            env_name = None
            names = [v for k, v in items if isinstance(k, ScalarNode) and k.value == "name"]
            if names and any(isinstance(k, ScalarNode) and k.value == "value" for k, _ in items):
                env_name = scalar_str(names[0])
            for k, v in items:
                kstr = scalar_str(k) if isinstance(k, ScalarNode) else None
                if kstr is None or kstr in SKIPPED_KEYS or id(v) in used:
                    continue
                child_key = env_name if (kstr == "value" and env_name) else kstr
                self._walk(v, child_key, f"{path}.{kstr}", depth + 1)
        elif isinstance(node, SequenceNode):
            flag_key = ""
            for i, item in enumerate(node.value):
                text = scalar_str(item)
                item_key = key
                if text is not None and flag_key:
                    item_key = flag_key
                self._walk(item, item_key, f"{path}[{i}]", depth + 1)
                flag_key = ""
                if text is not None and text.startswith("-") and "=" not in text and is_image_key(text.lstrip("-")):
                    flag_key = text.lstrip("-")
        else:
            text = scalar_str(node)
            if text is not None:
                self._string(text, key, node, path)

    def _string(self, text: str, key: str, node: Node, path: str) -> None:
        if key and is_image_key(key) and keyed_image(text, key):
            self._emit(text, node, path)
            return
        if len(text) <= MAX_EMBEDDED and ("\n" in text or text.lstrip().startswith(("{", "["))):
            found = self.embedded(text, f"{self.obj.label} {path.lstrip('.')}")
            for h in found:
                self.hits.append(Hit(h.raw, self.budget.line(node), h.detail, True, self.obj.helm_test or h.helm_test))
            if found:
                return
        for flag, value in tokens(text):
            if (flag and is_image_key(flag.lstrip("-")) and keyed_image(value, flag)) or free_image(value):
                self._emit(value, node, path)
