# Everything a developer runs. Generated code under api/ is committed, so
# building and testing never need the generators; `make generate` refreshes it
# and `make check-generated` fails when it is stale.

GO ?= go
IMAGE := $(or $(TMPDIR),/tmp)/casework-image.binpb

.PHONY: run test generate check-generated lint golint race breaking build image bench

run:
	$(GO) run ./cmd/casework serve

build:
	$(GO) build -o bin/casework ./cmd/casework

# Runs every test, the PostgreSQL ones included: they need CASEWORK_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres) and, with CI=true, fail
# instead of skipping when PostgreSQL is unreachable.
test:
	$(GO) test -count=1 -v -timeout 30m ./...

# golangci-lint with the deliberate set of .golangci.yml, at a pinned
# version (installed from the Go module proxy on first use).
GOLANGCI_LINT_VERSION := v2.15.0
GOBIN ?= $(shell $(GO) env GOPATH)/bin
golint:
	@test -x $(GOBIN)/golangci-lint && $(GOBIN)/golangci-lint version 2>/dev/null | grep -q $(patsubst v%,%,$(GOLANGCI_LINT_VERSION)) || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(GOBIN)/golangci-lint run ./...

# The race detector on the packages where goroutines meet: the server, the
# webhook dispatcher, token caches, the handlers and the store.
race:
	$(GO) test -race -count=1 ./server/... ./internal/webhook/... ./internal/access/authn/... ./service/... ./repository/...

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

# Usage: make breaking AGAINST=/path/to/baseline-image.binpb (build the
# baseline with `make image IMAGE=...` in a git worktree of main).
breaking: image
	$(GO) tool buf breaking $(IMAGE) --path casework --against $(AGAINST)

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
