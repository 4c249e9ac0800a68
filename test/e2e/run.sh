#!/usr/bin/env bash
# run.sh is the e2e tier: install and cache what it needs (setup.sh), then
# run the tests tagged e2e against a real etcd, kube-apiserver and
# sealed-secrets controllers, with overlays applied by Flux's libraries.
# Extra arguments go to `go test` (e.g. -run TestRollout -v).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

start=$SECONDS
eval "$("$here/setup.sh")"
echo "e2e: setup took $((SECONDS - start))s" >&2

cd "$here"
start=$SECONDS
status=0
go test -tags e2e -count=1 -timeout 30m "$@" ./... || status=$?
echo "e2e: tests took $((SECONDS - start))s" >&2
exit "$status"
