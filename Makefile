# One target per workflow. Database tests start their own throwaway
# PostgreSQL from the local binaries unless HWLAB_TEST_DATABASE_URL is set.
GO   ?= go
TAGS := integration

.PHONY: generate migration test test-pgbouncer check build fuzz run bench bench-doc bench-compare

## generate: regenerate the ent client from ent/schema
generate:
	$(GO) generate ./ent

## migration name=NAME: write the next migration from ent/schema (diffs on a throwaway dev database)
migration:
	@test -n "$(name)" || { echo "usage: make migration name=add_something" >&2; exit 2; }
	$(GO) run ./cmd/advisor migrate diff $(name)

## test: every test, database tests included, with the race detector
test:
	$(GO) test -race -tags $(TAGS) -count=1 ./...

## test-pgbouncer: the store's and the advisor's API tests again, through a PgBouncer in transaction mode (Debian's pgbouncer, which the tests start) in front of the throwaway server; tests that need a session go direct and log why. Prints the count of passed tests, the whole log on failure.
PGBOUNCER_PKGS := ./internal/store ./internal/advisor ./internal/pgtest
test-pgbouncer:
	@log=$$(mktemp); \
	HWLAB_TEST_POOLER=pgbouncer $(GO) test -tags $(TAGS) -count=1 -v $(PGBOUNCER_PKGS) >$$log 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then cat $$log; fi; \
	grep -E '^(ok|FAIL|---)' $$log | grep -v -- '--- PASS'; \
	echo "through PgBouncer: $$(grep -c '^--- PASS' $$log) tests passed ($$(grep -c -- '--- PASS' $$log) with subtests), $$(grep -c -- '--- FAIL' $$log) failed, $$(grep -c 'direct to the server, not through PgBouncer' $$log) went direct"; \
	rm -f $$log; exit $$rc

## fuzz: run each fuzz target for a number of executions, about 10 s each here (FUZZTIME=30s or =100000x sets all of them; go test -fuzz takes one package and one target per run)
# Counts, not durations: with a duration, Go 1.26's fuzz coordinator can
# fail a target that found nothing ("context deadline exceeded" at the
# deadline, golang/go#75804, fixed in Go 1.27); a count has no deadline.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseID$$' -fuzztime $(or $(FUZZTIME),50000x) ./internal/store
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzContentRoundTrip$$' -fuzztime $(or $(FUZZTIME),2000x) ./internal/store
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime $(or $(FUZZTIME),8000x) ./internal/store
	$(GO) test -tags $(TAGS) -run '^$$' -fuzz '^FuzzSearch$$' -fuzztime $(or $(FUZZTIME),2000x) ./internal/store

## check: vet (benchmarks compiled too, never run), formatting, generated code current, migrations in sync with ent/schema, atlas.sum valid
check:
	$(GO) vet ./...
	$(GO) vet -tags $(TAGS) ./...
	$(GO) vet -tags bench ./bench/...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) generate ./ent
	@if [ -n "$$(git status --porcelain -- ent)" ]; then \
		echo "ent/ is not what 'make generate' produces from ent/schema:"; git status --porcelain -- ent; git diff --stat -- ent; exit 1; fi
	$(GO) run ./cmd/advisor migrate check

## build: the advisor binary in bin/
build:
	$(GO) build -o bin/advisor ./cmd/advisor

## run: build and serve the advisor at http://127.0.0.1:8080; without HWLAB_DATABASE_URL it starts (or reuses) a dev PostgreSQL cluster in .dev/pg
run: build
	./bin/advisor serve --dev-db $(ARGS)

.PHONY: screenshot
## screenshot: run the browser test and keep its picture of the page as docs/advisor.png (the README's)
screenshot:
	@mkdir -p docs
	HWLAB_SCREENSHOT=$(CURDIR)/docs/advisor.png $(GO) test -tags $(TAGS) -count=1 -run 'TestBrowser$$' ./internal/advisor/webtest

## bench: benchmarks of the store against the hand-written pgx baseline on a throwaway PostgreSQL (BENCH_COUNT=6 BENCH_TIME=1s); see docs/performance.md
bench:
	GO=$(GO) bench/run.sh

## bench-compare base=REF: the store's AddMessage and GetConversation benchmarks on REF's code against this tree's, alternating processes (bench/out/compare.md)
bench-compare:
	@test -n "$(base)" || { echo "usage: make bench-compare base=main" >&2; exit 2; }
	GO=$(GO) bench/compare.sh $(base)

## bench-doc: rewrite the results section of docs/performance.md from bench/out/bench.txt (or BENCH_FILE)
bench-doc:
	bench/doc.sh $(or $(BENCH_FILE),bench/out/bench.txt)
