#!/usr/bin/env bash
# compare.sh BASE_REF: the store's AddMessage and GetConversation benchmarks
# built from BASE_REF's tree against this tree's, so that a change to the
# store shows what it cost them. The two code versions cannot share a
# process, so the runs alternate between a base and a head test binary in
# the order base, head, head, base, … (each BENCH_COUNT repetitions), and
# load that drifts over the minutes of the run hits both sides alike.
# Each process loads its data set in a throwaway PostgreSQL of its own (or
# on HWLAB_TEST_DATABASE_URL). Knobs: BENCH_ROUNDS (2), BENCH_COUNT (3),
# BENCH_TIME (1s), BENCH_OUT (bench/out), BENCH_FILTERS (-bench regexps,
# one process each, separated by spaces: a regexp cannot pick a sub-benchmark
# at different depths).
# Writes $BENCH_OUT/compare-{base,head}.txt and compare.md (benchstat).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/compare.sh BASE_REF (e.g. main)}
GO=${GO:-go}
rounds=${BENCH_ROUNDS:-2}
count=${BENCH_COUNT:-3}
benchtime=${BENCH_TIME:-1s}
out=$(realpath -m "${BENCH_OUT:-bench/out}")
filters=${BENCH_FILTERS:-'^BenchmarkAddMessage$/^impl=store$ ^BenchmarkGetConversation$/msgs=/^impl=store$'}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rev=$(git rev-parse --short "$base^{commit}")
mkdir "$tmp/base"
git archive "$rev" | tar -x -C "$tmp/base"
(cd "$tmp/base" && $GO test -c -tags bench -o "$tmp/base.test" ./bench)
$GO test -c -tags bench -o "$tmp/head.test" ./bench
: > "$out/compare-base.txt"
: > "$out/compare-head.txt"
run() { # run SIDE: one process of SIDE's binary, in its own tree's bench directory
	local dir=bench
	[ "$1" = base ] && dir=$tmp/base/bench
	local f
	for f in $filters; do
		echo "== $1 $f (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
		(cd "$dir" && "$tmp/$1.test" -test.run '^$' -test.bench "$f" -test.count "$count" \
			-test.benchtime "$benchtime" -test.timeout 60m) | tee -a "$out/compare-$1.txt" | grep '^Benchmark' >&2
	done
}
for r in $(seq 0 $((rounds - 1))); do
	if [ $((r % 2)) -eq 0 ]; then run base; run head; else run head; run base; fi
done
{
	echo "base: \`$base\` ($rev), head: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.go' go.mod go.sum || echo ' with uncommitted code changes');" \
		"$rounds rounds × $count repetitions, $(date -u '+%Y-%m-%d %H:%M UTC'), \`bench/compare.sh $base\`"
	echo
	echo '```'
	$GO tool benchstat base="$out/compare-base.txt" head="$out/compare-head.txt"
	echo '```'
} > "$out/compare.md"
cat "$out/compare.md"
