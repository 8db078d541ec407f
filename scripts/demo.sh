#!/usr/bin/env bash
# Offline demo (no internet): a local docker-registry seeded with generated images stands in for docker.io,
# quay.io and registry.k8s.io through registry mirrors; `sealer build -b lite` caches every image that
# examples/lite needs into the cluster image; then images / inspect / verify, and the cached registry/ is
# served back by the stock docker-registry. Every process started here is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SEALER=${SEALER:-.venv/bin/sealer}
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/sealer-demo.XXXXXX")
ROOT="$DEMO/root"
REG_PID=""
HOSTS_DIR=""

cleanup() {
  if [ -n "$HOSTS_DIR" ]; then "$PY" tests/helpers/testhosts.py stop --dir "$HOSTS_DIR" || true; fi
  if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
  if [ -z "${KEEP_DEMO:-}" ]; then rm -rf "$DEMO"; else echo "demo files kept in $DEMO"; fi
}
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST="127.0.0.1:$PORT"
mkdir -p "$DEMO/upstream"
cat > "$DEMO/registry.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: "$DEMO/upstream"}
  delete: {enabled: true}
http: {addr: "$HOST"}
YAML

step "start a local docker-registry on $HOST (stands in for docker.io, quay.io, registry.k8s.io)"
docker-registry serve "$DEMO/registry.yml" >"$DEMO/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://$HOST/v2/', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

step "seed it with small generated images (tags, a multi-arch index, shared layers)"
"$PY" scripts/demo_seed.py seed --registry "$HOST" --workdir "$DEMO/seed"

step "mirror docker.io, quay.io and registry.k8s.io to it (\$SEALER_REGISTRIES_CONF)"
: > "$DEMO/registries.conf"
for d in docker.io quay.io registry.k8s.io; do
  cat >> "$DEMO/registries.conf" <<TOML
[[registry]]
prefix = "$d"
location = "$d"
[[registry.mirror]]
location = "$HOST"
insecure = true

TOML
done
export SEALER_REGISTRIES_CONF="$DEMO/registries.conf"
cat "$SEALER_REGISTRIES_CONF"

step "sealer build -b lite -t kubernetes:v1.19.8 examples/base   (the base image of the example)"
cat examples/base/Kubefile
"$SEALER" --root "$ROOT" build -b lite -t kubernetes:v1.19.8 examples/base

step "sealer build -b lite -t demo-cluster:v1 examples/lite"
cat examples/lite/Kubefile
"$SEALER" --root "$ROOT" build -b lite -t demo-cluster:v1 examples/lite

step "sealer images"
"$SEALER" --root "$ROOT" images

step "sealer inspect demo-cluster:v1"
"$SEALER" --root "$ROOT" inspect demo-cluster:v1

step "sealer verify demo-cluster:v1"
"$SEALER" --root "$ROOT" verify demo-cluster:v1

step "sealer kubeadm-config demo-cluster:v1 -f examples/Clusterfile   (master0; the base's etc/ template wins)"
"$SEALER" --root "$ROOT" kubeadm-config demo-cluster:v1 -f examples/Clusterfile > "$DEMO/kubeadm.yaml"
head -40 "$DEMO/kubeadm.yaml"; echo "... ($(wc -l < "$DEMO/kubeadm.yaml") lines in all)"

step "rebuild: every step comes from the cache"
"$SEALER" --root "$ROOT" build -b lite -t demo-cluster:v1 examples/lite > "$DEMO/rebuild.log" 2>&1
grep -E "STEP|CACHED|Successfully" "$DEMO/rebuild.log"

step "serve the image's registry/ with the stock docker-registry and pull every cached image back"
"$PY" scripts/demo_seed.py serve --root "$ROOT" --image demo-cluster:v1 --workdir "$DEMO/serve"

step "deliver demo-cluster:v1 to two local test hosts (an sshd each, in its own mount namespace)"
HOSTS_DIR="$DEMO/hosts"
"$PY" tests/helpers/testhosts.py start --count 2 --dir "$HOSTS_DIR" > "$DEMO/hosts.json"
read -r M0 N1 KEY N1_PID <<< "$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(*d["addresses"][:2], d["client_key"], d["hosts"][1]["holder_pid"])' "$DEMO/hosts.json")"
kill "$REG_PID" && wait "$REG_PID" 2>/dev/null || true   # from here on, images come only from the cluster image
REG_PID=""
echo "master0 $M0, node $N1; the upstream registry is stopped"
HOME="$DEMO/home" "$SEALER" --root "$ROOT" run demo-cluster:v1 -m "$M0" -n "$N1" --pk "$KEY" \
  --state-dir "$DEMO/state" --cmds "ls manifests charts"

step "on node $N1: containerd pulls docker.io/library/busybox:1.36 by its original name via sea.hub:5000"
nsenter --mount --target "$N1_PID" -- cat /etc/containerd/certs.d/docker.io/hosts.toml
nsenter --mount --target "$N1_PID" -- ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d \
  docker.io/library/busybox:1.36 | tail -n 1
nsenter --mount --target "$N1_PID" -- ctr -n k8s.io images ls -q | grep -x docker.io/library/busybox:1.36 \
  && echo "pulled through the mirror on $N1"

step "sealer delete --all --force"
HOME="$DEMO/home" "$SEALER" delete --all --force --state-dir "$DEMO/state"

step "done"
