# The two commands a new user needs: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build lint bench fmt fuzz-api

## run: start the service with no configuration (private PostgreSQL in ./.contacts-data)
run: build
	./bin/contacts serve

## test: the whole suite against a real PostgreSQL (TEST_DATABASE_URL, or a private cluster)
test:
	$(GO) test -count=1 -timeout 15m ./...

## fuzz-api: Schemathesis against the served OpenAPI document, every
## operation, a fixed budget; fails on any 5xx (needs python3)
fuzz-api:
	test/fuzz/schemathesis.sh

## build: the binary in ./bin
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/contacts ./cmd/contacts

## lint: what CI refuses (gofmt, go vet)
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

## bench: the benchmarks quoted in the README, each on a durable private
## cluster (fsync on) in a directory on disk
bench:
	mkdir -p .bench && chmod 755 .bench
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./eventstore -run '^$$' -bench AppendBatched -benchtime 100x -count 3
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./eventstore -run '^$$' -bench AppendSingleConcurrent -benchtime 20000x -count 3
	for i in 1 2 3; do PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./projections -run '^$$' -bench Visibility -benchtime 10000x; done
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./projections -run '^$$' -bench Rebuild -benchtime 1x -count 2

fmt:
	gofmt -w $$(git ls-files '*.go')
