#!/usr/bin/env bash
# setup.sh installs and caches what the e2e tier runs, idempotently:
#   - etcd from Debian (etcd-server), when /usr/bin/etcd is missing;
#   - kube-apiserver, built from the wrapper module test/tools/kube-apiserver;
#   - the sealed-secrets controller, go-installed at the version go.mod pins.
# Binaries land in a cache keyed by version and are reused when present.
# It prints, as shell assignments, where they are (run.sh evals them).
#
#   E2E_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/credrotate-e2e)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

kube_version=v1.37.2
sealed_secrets_version=v0.36.0

cache_root="${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/credrotate-e2e}"
kube_dir="$cache_root/kubernetes-$kube_version"
sealed_dir="$cache_root/sealed-secrets-$sealed_secrets_version"
mkdir -p "$kube_dir" "$sealed_dir"

log() { printf 'setup: %s\n' "$*" >&2; }

# One setup at a time per cache: two concurrent builds would race on the same files.
exec 9>"$cache_root/.lock"
flock 9

# The wrapper module and the main module must agree on the versions cached here.
grep -q "k8s.io/kubernetes $kube_version\$" "$root/test/tools/kube-apiserver/go.mod" ||
	{ log "test/tools/kube-apiserver/go.mod does not require k8s.io/kubernetes $kube_version"; exit 1; }
grep -Eq "github.com/bitnami-labs/sealed-secrets $sealed_secrets_version( |$)" "$root/go.mod" ||
	{ log "go.mod does not require github.com/bitnami-labs/sealed-secrets $sealed_secrets_version"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

start=$SECONDS
if [ ! -x /usr/bin/etcd ]; then
	log "installing etcd-server from Debian"
	as_root apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq etcd-server >&2
	# The package starts a system etcd on the default ports; the tests run their own.
	as_root systemctl disable --now etcd >/dev/null 2>&1 || true
	log "etcd installed in $((SECONDS - start))s"
else
	log "etcd present: /usr/bin/etcd"
fi

start=$SECONDS
apiserver="$kube_dir/kube-apiserver"
if [ ! -x "$apiserver" ]; then
	log "building kube-apiserver $kube_version (several minutes on a cold cache)"
	ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=$(echo "$kube_version" | cut -d. -f1 | tr -d v)"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$kube_version" | cut -d. -f2)"
	(cd "$root/test/tools/kube-apiserver" &&
		CGO_ENABLED=0 nice go build -trimpath -ldflags "$ldflags" -o "$apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	mv "$apiserver.tmp" "$apiserver"
	log "kube-apiserver built in $((SECONDS - start))s"
else
	log "kube-apiserver cached: $apiserver"
fi

start=$SECONDS
controller="$sealed_dir/controller"
if [ ! -x "$controller" ]; then
	log "installing the sealed-secrets controller $sealed_secrets_version"
	tmpbin="$(mktemp -d "$sealed_dir/.gobin.XXXXXX")"
	(cd "$root" && CGO_ENABLED=0 GOBIN="$tmpbin" nice go install -trimpath \
		"github.com/bitnami-labs/sealed-secrets/cmd/controller@$sealed_secrets_version")
	mv "$tmpbin/controller" "$controller"
	rmdir "$tmpbin"
	log "controller installed in $((SECONDS - start))s"
else
	log "controller cached: $controller"
fi

# The CRD ships inside the sealed-secrets module; make sure the module is downloaded.
crd_dir="$(cd "$root" && go mod download -json "github.com/bitnami-labs/sealed-secrets@$sealed_secrets_version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/helm/sealed-secrets/crds"
[ -d "$crd_dir" ] || { log "no CRD folder at $crd_dir"; exit 1; }

printf 'export E2E_ETCD=%q\n' /usr/bin/etcd
printf 'export E2E_KUBE_APISERVER=%q\n' "$apiserver"
printf 'export E2E_SEALED_SECRETS_CONTROLLER=%q\n' "$controller"
printf 'export E2E_CRD_DIR=%q\n' "$crd_dir"
