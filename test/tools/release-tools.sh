#!/usr/bin/env bash
# release-tools.sh builds the release tools at the versions their wrapper
# modules pin (test/tools/goreleaser, test/tools/syft) into .cache/bin, once
# per version, and prints where they are as shell assignments (the Makefile
# evals them); progress goes to stderr. No downloaded binary: both are built
# from the Go module proxy's sources.
#
#   GORELEASER_BIN   the goreleaser binary
#   RELEASE_PATH     a folder holding `syft` (the pinned one), to put first
#                    on PATH: .goreleaser.yaml's sboms: runs `syft`
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.cache/bin"
mkdir -p "$bin" "$root/.cache/release-path"
log() { printf 'release-tools: %s\n' "$*" >&2; }

exec 8>"$root/.cache/.release-tools.lock"
flock 8

# build NAME MODULE_DIR MODULE PACKAGE: builds PACKAGE at MODULE's version
# in MODULE_DIR into .cache/bin/NAME-VERSION and prints that path.
build() {
	local name=$1 dir=$2 module=$3 pkg=$4 version out start
	version="$(cd "$root/$dir" && go list -m -f '{{.Version}}' "$module")"
	out="$bin/$name-$version"
	if [ ! -x "$out" ]; then
		start=$SECONDS
		log "building $name $version (first time: several minutes on 2 cores)"
		(cd "$root/$dir" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$pkg")
		mv "$out.tmp" "$out"
		log "$name built in $((SECONDS - start))s"
	fi
	printf '%s\n' "$out"
}

goreleaser="$(build goreleaser test/tools/goreleaser github.com/goreleaser/goreleaser/v2 github.com/goreleaser/goreleaser/v2)"
syft="$(build syft test/tools/syft github.com/anchore/syft github.com/anchore/syft/cmd/syft)"
ln -sf "$syft" "$root/.cache/release-path/syft"

printf 'export GORELEASER_BIN=%q\n' "$goreleaser"
printf 'export RELEASE_PATH=%q\n' "$root/.cache/release-path"
