#!/bin/bash
# Base image script, sealer's contract (docs/delivery.md): `sealer delete` runs, on every host,
#   cd <rootfs>/scripts && bash clean.sh
# after `kubeadm reset -f`. It stops what init.sh started and removes the configuration it wrote.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl stop containerd || true
fi
pidfile=/run/containerd/sealer-containerd.pid
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
fi
rm -f /etc/containerd/config.toml
echo "clean.sh: containerd stopped, its config removed"
