# The two commands a new user needs: `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: prereqs-test run test build lint bench bench-engines fmt fuzz-api engines engines-stop stack

## run: start the service with no configuration (private PostgreSQL in ./.contacts-data)
run: build
	@deploy/prereqs.sh postgres
	./bin/contacts serve

## test: the whole suite against a real PostgreSQL (TEST_DATABASE_URL, or a
## private cluster) and the real engines: Kafka and Elasticsearch are started
## once for the run in ./.engines/test (needs a JDK and Maven) and stopped at
## the end, their data removed (kept, with their logs, after a failure).
## With KAFKA_BROKERS and ELASTICSEARCH_URL
## both set (eval "$$(make -s engines)") the tests use those instead.
## The API fuzzer (fuzz-api) runs first, so go test's summary closes the output.
test: prereqs-test fuzz-api
	@set -e; \
	if [ -n "$$KAFKA_BROKERS" ] && [ -n "$$ELASTICSEARCH_URL" ]; then \
	  echo "make test: engines from the environment: KAFKA_BROKERS=$$KAFKA_BROKERS ELASTICSEARCH_URL=$$ELASTICSEARCH_URL"; \
	else \
	  dir=$(CURDIR)/.engines/test; \
	  trap 'rc=$$?; if [ $$rc = 0 ]; then deploy/engines/engines.sh stop "$$dir" --wipe; \
	        else deploy/engines/engines.sh stop "$$dir"; echo "make test: the engines'"'"' data and logs are kept in $$dir"; fi' EXIT; \
	  trap 'exit 130' INT TERM; \
	  engines=$$(deploy/engines/engines.sh start "$$dir"); \
	  echo "$$engines"; \
	  [ -z "$$engines" ] || export $$engines; \
	fi; \
	$(GO) test -count=1 -timeout 15m ./...

## engines: start Kafka and Elasticsearch in ./.engines (reusing running
## ones); prints KAFKA_BROKERS=… and ELASTICSEARCH_URL=…, for
## eval "$$(make -s engines)"
engines:
	@deploy/engines/engines.sh start

## engines-stop: stop what `make engines` started (the data stays)
engines-stop:
	@deploy/engines/engines.sh stop

## stack: the design's full distributed shape on one machine: the engines,
## then `contacts serve` with every role against them and the private
## PostgreSQL. Ctrl-C stops the service; the engines run on until
## `make engines-stop`.
stack: build
	@engines=$$(deploy/engines/engines.sh start) && echo "$$engines" && { [ -z "$$engines" ] || export $$engines; } && \
	  ELASTICSEARCH_REPLICAS=$${ELASTICSEARCH_REPLICAS:-0} exec ./bin/contacts serve --roles api,relay,projector,importer

# PostgreSQL, a JDK and Maven: installed from Debian's packages when missing
# (as root), else a message that says what to install.
prereqs-test:
	@deploy/prereqs.sh postgres engines

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
## cluster (fsync on) in a directory on disk (the read API over a million
## contacts, on both engines: make bench-engines)
bench:
	mkdir -p .bench && chmod 755 .bench
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./eventstore -run '^$$' -bench AppendBatched -benchtime 100x -count 3
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./eventstore -run '^$$' -bench AppendSingleConcurrent -benchtime 20000x -count 3
	for i in 1 2 3; do PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./projections -run '^$$' -bench Visibility -benchtime 10000x; done
	PGTEST_DURABLE=1 PGTEST_DIR=$(CURDIR)/.bench $(GO) test ./projections -run '^$$' -bench Rebuild -benchtime 1x -count 2

## bench-engines: the read API over PostgreSQL and Elasticsearch side by side
## (contacts bench read --engine both), a rebuild into Elasticsearch (its
## documents/s) and the write-to-search visibility at 1,000 writes/s on each
## engine (contacts bench visibility), over BENCH_CONTACTS seeded contacts in
## a fresh data directory .bench/engines-<N>; the engines of `make engines`
## (indices under the prefix bench-). Everything is logged in that directory.
BENCH_CONTACTS ?= 1000000
bench-engines: build
	@set -e; dir=$(CURDIR)/.bench/engines-$(BENCH_CONTACTS); rm -rf "$$dir"; mkdir -p "$$dir"; \
	chmod 755 $(CURDIR)/.bench "$$dir"; \
	engines=$$(deploy/engines/engines.sh start); \
	export CONTACTS_DATA_DIR="$$dir" ELASTICSEARCH_INDEX_PREFIX=bench- ELASTICSEARCH_REPLICAS=0; \
	echo "== seed $(BENCH_CONTACTS) contacts into PostgreSQL"; \
	env -u ELASTICSEARCH_URL -u KAFKA_BROKERS ./bin/contacts seed --contacts $(BENCH_CONTACTS) > "$$dir/seed.json" 2> "$$dir/seed.log"; \
	cat "$$dir/seed.json"; grep 'documents/s' "$$dir/seed.log"; \
	export $$engines; unset KAFKA_BROKERS; echo "ELASTICSEARCH_URL=$$ELASTICSEARCH_URL"; \
	echo "== rebuild into Elasticsearch"; \
	./bin/contacts projections rebuild all 2> "$$dir/rebuild.log"; grep 'documents/s' "$$dir/rebuild.log"; \
	email=$$(sed -n 's/^ *"email": "\(.*\)",*$$/\1/p' "$$dir/seed.json"); \
	password=$$(sed -n 's/^ *"password": "\(.*\)",*$$/\1/p' "$$dir/seed.json"); \
	echo "== bench read (both engines)"; \
	./bin/contacts bench read --email "$$email" --password "$$password" 2> "$$dir/read.log" | tee "$$dir/read.txt"; \
	echo "== bench visibility (Elasticsearch, then PostgreSQL)"; \
	./bin/contacts bench visibility --engine es 2>> "$$dir/visibility.log" | tee "$$dir/visibility-es.txt"; \
	./bin/contacts bench visibility --engine pg 2>> "$$dir/visibility.log" | tee "$$dir/visibility-pg.txt"

fmt:
	gofmt -w $$(git ls-files '*.go')
