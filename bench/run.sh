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
out=$(realpath -m "${BENCH_OUT:-bench/out}") # absolute: go test runs in ./bench
filter=${BENCH_FILTER:-.}
mkdir -p "$out"
# The machine, for the record (docs/performance.md shows it).
{
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- CPU: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $($GO version)"
	echo "- PostgreSQL $(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1): a throwaway cluster from the local binaries (pgtest), or HWLAB_TEST_DATABASE_URL"
	echo "- command: \`BENCH_COUNT=$count BENCH_TIME=$benchtime make bench\`"
} > "$out/machine.md"
start=$(date +%s)
# TestSameAnswers proves both sides hold the same data; TestExplain writes
# the plans, TestPairedRatios the interleaved ratios of the close calls,
# TestAppendCost what each object AddMessage maintains costs it.
# -count repeats each benchmark; the data sets load once.
$GO test -tags bench -run '^(TestSameAnswers|TestExplain|TestPairedRatios|TestAppendCost)$' -bench "$filter" \
	-count "$count" -benchtime "$benchtime" -timeout 90m \
	./bench -args -explain "$out/explain.md" -paired "$out/paired.md" -append-cost "$out/append-cost.md" 2>&1 | tee "$out/bench.txt"
took=$(( $(date +%s) - start ))
echo "- wall time of make bench: ${took}s, data loading included" >> "$out/machine.md"
echo "benchmarks took ${took}s; raw output in $out/bench.txt, plans in $out/explain.md, ratios in $out/paired.md and $out/append-cost.md"
echo
bench/report.sh "$out/bench.txt" | tee "$out/report.md"
