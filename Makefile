# credrotate — run `make help` for the targets.

SHELL := /bin/bash
GO ?= go
PKGS := ./...
# The model check runs without -race, so that it explores the whole space.
MODEL_PKG := ./test/model/
MODEL_MOD := github.com/credrotate/credrotate/test/model
# The release checks read dist/, which make release-snapshot writes (CI runs
# them in their own step: make release-snapshot release-test).
RELEASE_MOD := github.com/credrotate/credrotate/test/release
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-17s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/credrotate
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/credrotate ./cmd/credrotate

.PHONY: sandbox
sandbox: ## Build bin/credrotate-sandbox (credrotate with the demo, the emulators and localhub)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/credrotate-sandbox ./cmd/credrotate-sandbox

.PHONY: release-snapshot
release-snapshot: ## Build a release into dist/ (binaries, archives, checksums.txt, SBOMs, the chart .tgz); publishes nothing
	@set -eo pipefail; \
	start=$$SECONDS; \
	for m in test/tools/goreleaser test/tools/syft; do (cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "$$m: go.mod or go.sum is not tidy; run (cd $$m && go mod tidy)"; exit 1; }; done; \
	eval "$$(bash test/tools/release-tools.sh)"; \
	mkdir -p .cache; \
	$(GO) run ./internal/releasetool notes Unreleased > .cache/release-notes.md; \
	if [ -z "$$(git remote)" ]; then \
	  : "GoReleaser reads the commit only where git names a remote: name the project's for this run, in the environment, not in .git/config"; \
	  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/credrotate/credrotate.git; \
	fi; \
	PATH="$$RELEASE_PATH:$$PATH" "$$GORELEASER_BIN" release --snapshot --clean --release-notes .cache/release-notes.md; \
	version="$$($(GO) run ./internal/releasetool dist-version dist)"; \
	cp ".cache/release-chart/credrotate-$$version.tgz" dist/; \
	echo "make release-snapshot: $$version in dist/ in $$((SECONDS - start))s"

.PHONY: release
release: ## Publish the release of the tag at HEAD (vX.Y.Z; needs GITHUB_TOKEN): CHANGELOG.md's section is its notes
	@set -eo pipefail; \
	tag="$$(git describe --tags --exact-match)"; \
	eval "$$(bash test/tools/release-tools.sh)"; \
	mkdir -p .cache; \
	$(GO) run ./internal/releasetool notes "$$tag" > .cache/release-notes.md; \
	PATH="$$RELEASE_PATH:$$PATH" "$$GORELEASER_BIN" release --clean --release-notes .cache/release-notes.md; \
	cp ".cache/release-chart/credrotate-$${tag#v}.tgz" dist/

.PHONY: release-test
release-test: ## Check what make release-snapshot left in dist/ (archives run, checksums, SBOMs, the chart)
	$(GO) test -count=1 -v -run . ./test/release/

.PHONY: release-notes
release-notes: ## Print the release notes of RELEASE (default Unreleased) from CHANGELOG.md
	@$(GO) run ./internal/releasetool notes $(or $(RELEASE),Unreleased)

.PHONY: chart-docs
chart-docs: ## Regenerate the values table of charts/credrotate/README.md from values.yaml and values.schema.json
	$(GO) run ./internal/releasetool chart-docs

.PHONY: test
test: ## Run the test suite (what CI runs), after installing what it needs (test/setup.sh)
	@set -eo pipefail; \
	start=$$SECONDS; \
	setup="$$(VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' bash test/setup.sh)"; \
	eval "$$setup"; \
	echo "make test: set-up took $$((SECONDS - start))s; testing with $$CREDROTATE_BIN"; \
	start=$$SECONDS; status=0; \
	{ s=0; $(GO) test -count=1 -timeout 20m -json $(MODEL_PKG) || s=1; \
	  $(GO) test -race -count=1 -timeout 20m -json $$($(GO) list $(PKGS) | grep -vx -e '$(MODEL_MOD)' -e '$(RELEASE_MOD)') || s=1; \
	  exit $$s; } | "$$TESTSUM_BIN" || status=$$?; \
	echo "make test: tests took $$((SECONDS - start))s"; \
	exit $$status

.PHONY: e2e
e2e: build ## The real-Kubernetes tier: etcd, kube-apiserver, the sealed-secrets controller (installs and caches them)
	CREDROTATE_BIN=$(CURDIR)/bin/credrotate bash test/e2e/run.sh

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	@# Every module's go.mod and go.sum are tidy: the e2e tier and the tool modules replace the main module, so a change here must be tidied there too.
	@for m in . test/e2e test/tools/kube-apiserver test/tools/promtool; do (cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "$$m: go.mod or go.sum is not tidy; run (cd $$m && go mod tidy)"; exit 1; }; done

.PHONY: vuln
vuln: ## govulncheck (needs its online database; not part of CI)
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 $(PKGS)

.PHONY: generate
generate: ## Regenerate generated code (the SOAP client)
	$(GO) generate $(PKGS)

.PHONY: bench
bench: build ## Run the benchmarks and write docs/benchmarks.md (30-60 minutes)
	$(GO) run ./test/bench -bin bin/credrotate -keys 1,10,100,1000 -latency 0,50ms -reps 3 -run-budget 5m -out docs/benchmarks.md
	$(GO) test -run '^$$' -bench 'Seal1000x3|RawHybridEncrypt1000x3' -benchtime 1x ./pkg/seal
	$(GO) test -run '^$$' -bench 'PublishPackWindow' -benchtime 3x ./pkg/gitops

.PHONY: screenshots
screenshots: ## Photograph the pull request body and the dashboard as GitHub renders them (needs chromium) into docs/screenshots
	npm ci --prefix test/screenshots --no-audit --no-fund
	$(GO) run ./test/screenshots -out docs/screenshots

.PHONY: demo
demo: sandbox ## Run the whole job on embedded defaults (PROVIDER=entra|okta|gcpkey|http|http-okta for another provider)
	bin/credrotate-sandbox demo --provider $(or $(PROVIDER),equifax)
