#!/bin/bash
# Base image script, sealer's contract (docs/delivery.md): delivery runs, on every host,
#   cd <rootfs> && chmod +x scripts/* && cd scripts && bash init.sh /var/lib/docker <RegistryDomain> <RegistryPort>
# with the cluster env exported. It prepares the container runtime: containerd with its registry mirror
# configuration read from /etc/containerd/certs.d (delivery writes one hosts.toml per cached registry there).
# systemd hosts: `systemctl restart containerd`; hosts without systemd: containerd started detached.
set -e
STORAGE=${1:-/var/lib/docker}   # the docker data dir in sealer's docker bases; unused with containerd
REGISTRY_DOMAIN=${2-sea.hub}
REGISTRY_PORT=${3-5000}
echo "init.sh: storage=$STORAGE registry=$REGISTRY_DOMAIN:$REGISTRY_PORT"

mkdir -p /etc/containerd/certs.d /run/containerd /var/lib/containerd
cat > /etc/containerd/config.toml <<TOML
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
TOML

if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files containerd.service >/dev/null 2>&1 \
    && [ -d /run/systemd/system ]; then
  systemctl restart containerd
else
  pidfile=/run/containerd/sealer-containerd.pid
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  setsid nohup containerd --config /etc/containerd/config.toml > /run/containerd/containerd.log 2>&1 < /dev/null &
  echo $! > "$pidfile"
fi
for _ in $(seq 100); do
  ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "containerd did not come up" >&2
tail -n 20 /run/containerd/containerd.log >&2 || true
exit 1
