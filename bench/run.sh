#!/usr/bin/env bash
# make bench: run the benchmarks against a throwaway PostgreSQL (or the
# server in HWLAB_TEST_DATABASE_URL), keep the raw output and print the
# benchstat tables. Knobs: BENCH_COUNT (default 6), BENCH_TIME (1s),
# BENCH_OUT (bench/out), BENCH_FILTER (the -bench regexp, default .).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
count=${BENCH_COUNT:-6}
benchtime=${BENCH_TIME:-1s}
out=${BENCH_OUT:-bench/out}
filter=${BENCH_FILTER:-.}
mkdir -p "$out"
start=$(date +%s)
# TestSameAnswers proves both sides hold the same data; TestExplain writes
# the plans. -count repeats each benchmark; the data sets load once.
$GO test -tags bench -run '^(TestSameAnswers|TestExplain)$' -bench "$filter" \
	-count "$count" -benchtime "$benchtime" -timeout 90m \
	./bench -args -explain "$out/explain.md" 2>&1 | tee "$out/bench.txt"
echo "benchmarks took $(( $(date +%s) - start ))s; raw output in $out/bench.txt, plans in $out/explain.md"
echo
bench/report.sh "$out/bench.txt" | tee "$out/report.md"
