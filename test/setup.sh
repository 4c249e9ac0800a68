#!/usr/bin/env bash
# setup.sh installs what `make test` needs, idempotently, and prints where
# it is as shell assignments (the Makefile evals them); progress goes to
# stderr. After the first run it needs no network.
#
#   - the pinned npm packages (Prism, GitHub's OpenAPI description and
#     GraphQL schema; node-soap) from their lockfiles, when node_modules is
#     missing or older than the lockfile;
#   - the Go modules, tools included, that go.mod pins;
#   - credrotate and credrotate-sandbox, built with make build's flags and
#     cached by version, and
#     kubeseal and promtool at the versions go.mod and
#     test/tools/promtool/go.mod pin, under .cache/bin:
#     the tests run these (CREDROTATE_BIN, KUBESEAL_BIN, PROMTOOL_BIN)
#     instead of compiling them inside
#     their own timeouts;
#   - kube-apiserver (test/e2e/setup.sh) when etcd is installed.
#
# What it cannot install itself (Debian packages) it names, with the
# command to run; the tests that need it then skip, loudly, or fail under CI.
#
#   VERSION, LDFLAGS   as make build uses them (the Makefile passes them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

cache="$root/.cache"
bin="$cache/bin"
mkdir -p "$bin"
version="${VERSION:-dev}"
ldflags="${LDFLAGS:--s -w}"

log() { printf 'setup: %s\n' "$*" >&2; }
total=$SECONDS
missing=()

# One set-up at a time per checkout.
exec 9>"$cache/.setup.lock"
flock 9

# Debian packages the tests use; the set-up cannot install them for you.
for tool in jq shellcheck; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || missing+=("etcd-server")
command -v node >/dev/null && command -v npm >/dev/null || missing+=("nodejs" "npm")

# npm packages, from their lockfiles.
if command -v npm >/dev/null; then
	for dir in test/contract pkg/equifax/soap/testdata/stock-client; do
		if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
			start=$SECONDS
			log "npm ci in $dir (first time: downloads from the npm registry, about a minute)"
			npm ci --no-audit --no-fund --loglevel=error --prefix "$dir" >&2
			log "npm ci in $dir took $((SECONDS - start))s"
		fi
	done
fi

# Go modules and the tools go.mod pins (quiet and quick when cached).
start=$SECONDS
go mod download
[ $((SECONDS - start)) -lt 5 ] || log "go mod download took $((SECONDS - start))s"

# credrotate, with make build's flags. A clean tree's build is cached by
# its version; a dirty tree is rebuilt every time (Go's build cache keeps
# that to a link when nothing changed).
credrotate="$bin/credrotate-$version"
if [[ ! -x "$credrotate" || "$version" == *dirty* || "$version" == dev ]]; then
	start=$SECONDS
	[ -x "$credrotate" ] || log "building credrotate $version (first time: a few minutes on 2 cores)"
	CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$credrotate.tmp" ./cmd/credrotate
	mv "$credrotate.tmp" "$credrotate"
	find "$bin" -maxdepth 1 -name 'credrotate-*' ! -name "credrotate-$version" ! -name 'credrotate-sandbox-*' -delete
	[ $((SECONDS - start)) -lt 10 ] || log "credrotate built in $((SECONDS - start))s"
fi
# credrotate-sandbox: credrotate with the demo world, the emulators and
# localhub, for the tests that run the demo.
sandbox="$bin/credrotate-sandbox-$version"
if [[ ! -x "$sandbox" || "$version" == *dirty* || "$version" == dev ]]; then
	CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$sandbox.tmp" ./cmd/credrotate-sandbox
	mv "$sandbox.tmp" "$sandbox"
	find "$bin" -maxdepth 1 -name 'credrotate-sandbox-*' ! -name "credrotate-sandbox-$version" -delete
fi

# kubeseal, at the version go.mod pins.
ks_version="$(go list -m -f '{{.Version}}' github.com/bitnami-labs/sealed-secrets)"
kubeseal="$bin/kubeseal-$ks_version"
if [ ! -x "$kubeseal" ]; then
	start=$SECONDS
	log "building kubeseal $ks_version (first time: a minute or two)"
	CGO_ENABLED=0 go build -trimpath -o "$kubeseal.tmp" github.com/bitnami-labs/sealed-secrets/cmd/kubeseal
	mv "$kubeseal.tmp" "$kubeseal"
	log "kubeseal built in $((SECONDS - start))s"
fi

# promtool, at the Prometheus version its wrapper module test/tools/promtool
# pins as a tool: the chart's alert rules are checked and unit-tested with
# it (PROMTOOL_BIN).
pt_version="$(cd test/tools/promtool && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
promtool="$bin/promtool-$pt_version"
if [ ! -x "$promtool" ]; then
	start=$SECONDS
	log "building promtool $pt_version (first time: several minutes on 2 cores)"
	(cd test/tools/promtool && CGO_ENABLED=0 go build -trimpath -o "$promtool.tmp" github.com/prometheus/prometheus/cmd/promtool)
	mv "$promtool.tmp" "$promtool"
	log "promtool built in $((SECONDS - start))s"
fi

# The summary of the run (counts the environment skips).
CGO_ENABLED=0 go build -o "$bin/testsum" ./test/testsum

# kube-apiserver for the API-server dry-run, when etcd is there to run it.
if command -v etcd >/dev/null || [ -x /usr/bin/etcd ]; then
	start=$SECONDS
	if ! eval "$(bash test/e2e/setup.sh)"; then
		log "test/e2e/setup.sh failed: the API-server tests will say what is missing"
	fi
	[ $((SECONDS - start)) -lt 10 ] || log "the e2e tools took $((SECONDS - start))s (first time: kube-apiserver builds for 10-20 minutes)"
fi

if [ ${#missing[@]} -gt 0 ]; then
	log "not installed, and not something this script installs: ${missing[*]}"
	log "  install them with: apt-get install -y ${missing[*]}   (as root, or with sudo)"
	log "  until then the tests that need them skip (and are counted at the end); under CI=true they fail"
fi
[ $((SECONDS - total)) -lt 10 ] || log "set-up took $((SECONDS - total))s"

printf 'export CREDROTATE_BIN=%q\n' "$credrotate"
printf 'export CREDROTATE_SANDBOX_BIN=%q\n' "$sandbox"
printf 'export KUBESEAL_BIN=%q\n' "$kubeseal"
printf 'export PROMTOOL_BIN=%q\n' "$promtool"
printf 'export TESTSUM_BIN=%q\n' "$bin/testsum"
for v in E2E_ETCD E2E_KUBE_APISERVER E2E_SEALED_SECRETS_CONTROLLER E2E_CRD_DIR; do
	[ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
done
