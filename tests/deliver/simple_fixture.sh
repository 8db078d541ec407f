#!/bin/bash
# TEST FIXTURE — not Kubernetes.
# Stands in for NAME in the test base image: records its argv, PATH head and KUBECONFIG to
# /var/lib/sealer/fixture/NAME.log on the host and does nothing else.
mkdir -p /var/lib/sealer/fixture
printf '%s\t%s\t%s\n' "$*" "${PATH%%:*}" "${KUBECONFIG:-}" >> /var/lib/sealer/fixture/NAME.log
