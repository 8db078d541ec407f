# TEST FIXTURE — not Kubernetes.
# Stands in for kubeadm in the test base image: it records every call (argv, cwd, PATH, the config file it
# was given) to /var/lib/sealer/fixture/kubeadm.log on the host, validates the kubeadm configuration the way
# kubeadm would refuse a bad one (apiVersion/kind for the version, required fields, no unrendered "{{"),
# prints a join command like `kubeadm init` does, and lists images like `kubeadm config images list`.
# It starts nothing and touches nothing outside /var/lib/sealer/fixture.
import hashlib
import json
import os
import secrets
import sys

import yaml

LOG_DIR = "/var/lib/sealer/fixture"
# per minor version: (kubeadm API, pause, etcd, coredns) as kubeadm of that version lists them
IMAGES = {
    (1, 19): ("kubeadm.k8s.io/v1beta2", "3.2", "3.4.13-0", "1.7.0"),
    (1, 25): ("kubeadm.k8s.io/v1beta3", "3.8", "3.5.4-0", "v1.9.3"),
    (1, 27): ("kubeadm.k8s.io/v1beta3", "3.9", "3.5.7-0", "v1.10.1"),
}
DEFAULT_REPO = "registry.k8s.io"


def record(entry):
    os.makedirs(LOG_DIR, exist_ok=True)
    with open(os.path.join(LOG_DIR, "kubeadm.log"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def fail(msg):
    record({"argv": sys.argv[1:], "error": msg})
    sys.stderr.write(f"error execution phase preflight: {msg}\n")
    sys.exit(1)


def version_key(v):
    parts = v.lstrip("v").split(".")
    return int(parts[0]), int(parts[1])


def load(path):
    with open(path) as f:
        text = f.read()
    if "{{" in text or "}}" in text:
        fail(f"{path}: unrendered template action")
    docs = [d for d in yaml.safe_load_all(text) if d]
    return text, {d.get("kind"): d for d in docs}


def need(doc, dotted, where):
    cur = doc
    for k in dotted.split("."):
        if not isinstance(cur, dict) or cur.get(k) in (None, ""):
            fail(f"{where}: missing required field {dotted}")
        cur = cur[k]
    return cur


def check_api(docs, kinds, api):
    for kind in kinds:
        if kind not in docs:
            fail(f"no {kind} document")
        if kind.startswith(("Init", "Cluster", "Join")) and docs[kind].get("apiVersion") != api:
            fail(f"{kind} apiVersion {docs[kind].get('apiVersion')!r}; this kubeadm reads {api}")


def images(cc):
    version = need(cc, "kubernetesVersion", "ClusterConfiguration")
    key = version_key(version)
    if key not in IMAGES:
        fail(f"fixture knows no images for {version}")
    _api, pause, etcd, coredns = IMAGES[key]
    repo = cc.get("imageRepository") or DEFAULT_REPO
    dns_repo = (cc.get("dns") or {}).get("imageRepository")
    out = [f"{repo}/{n}:{version}" for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                              "kube-proxy")]
    out += [f"{repo}/pause:{pause}", f"{repo}/etcd:{etcd}"]
    coredns_path = "coredns/coredns" if repo == DEFAULT_REPO else "coredns"
    out.append(f"{dns_repo}/coredns:{coredns}" if dns_repo else f"{repo}/{coredns_path}:{coredns}")
    return out


def opt(args, name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def main():
    args = sys.argv[1:]
    entry = {"argv": args, "cwd": os.getcwd(), "path0": os.environ.get("PATH", "").split(":")[0]}
    cfg = opt(args, "--config")
    if args[:1] == ["init"]:
        text, docs = load(cfg)
        cc = docs.get("ClusterConfiguration") or {}
        api = IMAGES.get(version_key(need(cc, "kubernetesVersion", "ClusterConfiguration")), (None,))[0]
        check_api(docs, ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration",
                         "KubeProxyConfiguration"], api)
        need(docs["InitConfiguration"], "localAPIEndpoint.advertiseAddress", "InitConfiguration")
        need(cc, "controlPlaneEndpoint", "ClusterConfiguration")
        need(cc, "networking.podSubnet", "ClusterConfiguration")
        token = f"{secrets.token_hex(3)}.{secrets.token_hex(8)}"
        ca = hashlib.sha256(text.encode()).hexdigest()
        key = secrets.token_hex(32)
        entry.update(config=text, images=images(cc), token=token, caCertHash=f"sha256:{ca}", certificateKey=key)
        record(entry)
        endpoint = cc["controlPlaneEndpoint"]
        print("[init] Using Kubernetes version: " + cc["kubernetesVersion"])
        print("Your Kubernetes control-plane has initialized successfully!\n")
        print("You can now join any number of the control-plane node running the following command on each as root:\n")
        print(f"  kubeadm join {endpoint} --token {token} \\\n"
              f"\t--discovery-token-ca-cert-hash sha256:{ca} \\\n\t--control-plane --certificate-key {key}\n")
        print("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n")
        print("Then you can join any number of worker nodes by running the following on each as root:\n")
        print(f"kubeadm join {endpoint} --token {token} \\\n\t--discovery-token-ca-cert-hash sha256:{ca}")
        return
    if args[:1] == ["join"]:
        text, docs = load(cfg)
        jc = docs.get("JoinConfiguration")
        if jc is None:
            fail("no JoinConfiguration document")
        token = need(jc, "discovery.bootstrapToken.token", "JoinConfiguration")
        hashes = need(jc, "discovery.bootstrapToken.caCertHashes", "JoinConfiguration")
        need(jc, "discovery.bootstrapToken.apiServerEndpoint", "JoinConfiguration")
        if not (len(token) == 23 and token[6] == "."):
            fail(f"bootstrap token {token!r} is not [a-z0-9]{{6}}.[a-z0-9]{{16}}")
        if not all(str(h).startswith("sha256:") and len(str(h)) == 71 for h in hashes):
            fail(f"caCertHashes {hashes!r} are not sha256:<64 hex>")
        entry.update(config=text)
        record(entry)
        print("This node has joined the cluster")
        return
    if args[:3] == ["config", "images", "list"]:
        _text, docs = load(cfg)
        record(entry)
        print("\n".join(images(docs.get("ClusterConfiguration") or {})))
        return
    record(entry)
    if args[:1] == ["version"]:
        print("kubeadm fixture (not Kubernetes)")


main()
