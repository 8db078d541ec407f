#!/bin/bash
# TEST FIXTURE — not Kubernetes.
# Stands in for NAME in the test base image: records its argv, PATH head and KUBECONFIG to
# /var/lib/sealer/fixture/NAME.log on the host and does nothing else. As kubectl, `delete node X` answers like a
# cluster that has no such node when /var/lib/sealer/fixture/kubectl-notfound exists (a test creates it).
mkdir -p /var/lib/sealer/fixture
printf '%s\t%s\t%s\n' "$*" "${PATH%%:*}" "${KUBECONFIG:-}" >> /var/lib/sealer/fixture/NAME.log
if [ NAME = kubectl ] && [ "$1 $2" = "delete node" ] && [ -e /var/lib/sealer/fixture/kubectl-notfound ]; then
  echo "Error from server (NotFound): nodes \"$3\" not found" >&2
  exit 1
fi
