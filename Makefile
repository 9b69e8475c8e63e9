# Everything a developer runs. Generated code under api/ is committed, so
# building and testing never need the generators; `make generate` refreshes it
# and `make check-generated` fails when it is stale.

GO ?= go
IMAGE := $(or $(TMPDIR),/tmp)/casework-image.binpb

.PHONY: run test generate check-generated lint golint race breaking build image bench release

run:
	$(GO) run ./cmd/casework serve

build:
	$(GO) build -o bin/casework ./cmd/casework

# Runs every test, the PostgreSQL ones included: they need CASEWORK_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres) and, with CI=true, fail
# instead of skipping when PostgreSQL is unreachable.
test:
	$(GO) test -count=1 -v -timeout 30m ./...
	cd api && $(GO) test -count=1 -v ./...

# golangci-lint with the deliberate set of .golangci.yml, at a pinned
# version (installed from the Go module proxy on first use).
GOLANGCI_LINT_VERSION := v2.15.0
GOBIN ?= $(shell $(GO) env GOPATH)/bin
golint:
	@test -x $(GOBIN)/golangci-lint && $(GOBIN)/golangci-lint version 2>/dev/null | grep -q $(patsubst v%,%,$(GOLANGCI_LINT_VERSION)) || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(GOBIN)/golangci-lint run ./...
	cd api && $(GOBIN)/golangci-lint run ./client/...

# The race detector on the packages where goroutines meet: the server, the
# webhook dispatcher, token caches, the handlers and the store.
race:
	$(GO) test -race -count=1 -timeout 30m ./server/... ./internal/webhook/... ./internal/access/authn/... ./service/... ./repository/... ./internal/ratelimit/...

# The contract as one self-contained descriptor set (every import included:
# buf/validate, google/api, google/type, google/protobuf, openapiv2 options),
# what buf generates from and what protoc --descriptor_set_in reads.
image:
	$(GO) run ./tools/protoimage -root proto -o $(IMAGE)

# The OpenAPI 3.1 document is made from the v2 one and the image by
# tools/openapi3, never by hand.
generate: image
	rm -rf api/casework api/openapi/casework.swagger.json api/openapi/casework.openapi.json
	$(GO) tool buf generate $(IMAGE) --path casework
	$(GO) run ./tools/openapi3 -v2 api/openapi/casework.swagger.json -image $(IMAGE) -o api/openapi/casework.openapi.json
	$(GO) tool buf lint $(IMAGE) --path casework

lint: image
	$(GO) tool buf lint $(IMAGE) --path casework

# Fails when the contract breaks compatibility (buf's FILE rules) with a
# baseline: AGAINST=/path/to/image.binpb, or by default the protos of the
# merge base of HEAD and origin/main (main without a remote), or of HEAD~
# when that is HEAD itself (CI on main, a clean clone). The baseline's
# proto/ is taken with git archive into a temporary directory and built by
# this tree's protoimage, so an old commit's tools need not build. With no
# baseline commit (a shallow or one-commit history) it says so and passes.
breaking: image
ifdef AGAINST
	$(GO) tool buf breaking $(IMAGE) --path casework --against $(AGAINST)
else
	@set -e; \
	head=$$(git rev-parse HEAD); \
	base=$$(git merge-base HEAD origin/main 2>/dev/null || git merge-base HEAD main 2>/dev/null || true); \
	if [ -z "$$base" ] || [ "$$base" = "$$head" ]; then base=$$(git rev-parse -q --verify 'HEAD~^{commit}' || true); fi; \
	if [ -z "$$base" ]; then echo "breaking: no baseline commit in this history; nothing to compare"; exit 0; fi; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git archive "$$base" proto | tar -x -C "$$tmp"; \
	$(GO) run ./tools/protoimage -root "$$tmp/proto" -o "$$tmp/baseline.binpb"; \
	echo "breaking: comparing the contract with $$(git log -1 --format='%h %s' $$base | cut -c1-72)"; \
	$(GO) tool buf breaking $(IMAGE) --path casework --against "$$tmp/baseline.binpb"
endif

# Release artefacts (VERSION=v0.1.0): the self-contained descriptor set of
# the contract, which Java and .NET teams compile their stubs from (README,
# "Non-Go clients"), and its checksum, in dist/ to attach to the release.
# The Go client is released by tagging the api module: api/$(VERSION).
release: check-generated
	@test -n "$(VERSION)" || (echo "usage: make release VERSION=v0.1.0" && exit 1)
	mkdir -p dist
	$(MAKE) image IMAGE=$(CURDIR)/dist/casework-$(VERSION).binpb
	cd dist && sha256sum casework-$(VERSION).binpb > casework-$(VERSION).binpb.sha256
	@echo "attach dist/casework-$(VERSION).binpb(.sha256) to the release; tag the Go module: git tag api/$(VERSION) && git push origin api/$(VERSION)"

check-generated: generate
	git diff --exit-code -- api/ || (echo "api/ is stale: run make generate and commit" && exit 1)
	test -z "$$(git status --porcelain -- api/)" || (echo "api/ has untracked generated files: run make generate and commit" && git status --porcelain -- api/ && exit 1)

# Measures the server on PostgreSQL against the limits of the same machine
# (docs/performance.md): SCALE=smoke (seconds, what CI runs), small or large
# (1,000,000 cases). Needs a PostgreSQL where it may CREATE DATABASE;
# BENCH_FLAGS passes more, e.g. BENCH_FLAGS="-database-url postgres://… -explain".
SCALE ?= small
bench:
	$(GO) run ./tools/bench -scale $(SCALE) $(BENCH_FLAGS)
