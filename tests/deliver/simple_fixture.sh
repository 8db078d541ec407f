#!/bin/bash
# TEST FIXTURE — not Kubernetes.
# Stands in for NAME in the test base image: records its argv, PATH head and KUBECONFIG to
# /var/lib/sealer/fixture/NAME.log on the host and does nothing else. As kubectl it answers like a cluster
# whose nodes a test wrote to /var/lib/sealer/fixture/kubectl-nodes ("name internal-ip" lines): `get nodes`
# prints them (the jsonpath form sealer-py asks for), and `delete node X` says NotFound when
# /var/lib/sealer/fixture/kubectl-notfound exists.
F=/var/lib/sealer/fixture
mkdir -p $F
printf '%s\t%s\t%s\n' "$*" "${PATH%%:*}" "${KUBECONFIG:-}" >> $F/NAME.log
if [ NAME = kubectl ] && [ "$1 $2" = "get nodes" ] && [ -f $F/kubectl-nodes ]; then
  cat $F/kubectl-nodes
fi
if [ NAME = kubectl ] && [ "$1 $2" = "delete node" ] && [ -e $F/kubectl-notfound ]; then
  echo "Error from server (NotFound): nodes \"$3\" not found" >&2
  exit 1
fi
