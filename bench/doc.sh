#!/usr/bin/env bash
# doc.sh BENCH_OUTPUT: rewrite the generated sections of docs/performance.md
# (machine, results, paired ratios, plans) from a make bench run.
# machine.md, paired.md and explain.md come from BENCH_OUTPUT's directory,
# and compare.md (make bench-compare) when it is there; without it the
# section stays as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
in=$1
dir=$(dirname "$in")
doc=docs/performance.md
results=$(mktemp)
out=$(mktemp)
trap 'rm -f "$results" "$out"' EXIT
bench/report.sh "$in" > "$results"
compare=
[ -f "$dir/compare.md" ] && compare=$dir/compare.md
awk -v compare="$compare" -v machine="$dir/machine.md" -v results="$results" -v plans="$dir/explain.md" -v paired="$dir/paired.md" '
	function splice(file,   line) { while ((getline line < file) > 0) print line; close(file) }
	/<!-- machine:begin -->/ { print; splice(machine); skip = 1; next }
	/<!-- results:begin -->/ { print; splice(results); skip = 1; next }
	/<!-- plans:begin -->/   { print; splice(plans); skip = 1; next }
	/<!-- paired:begin -->/  { print; splice(paired); skip = 1; next }
	/<!-- compare:begin -->/ && compare != "" { print; splice(compare); skip = 1; next }
	/<!-- (machine|results|plans|paired|compare):end -->/ { skip = 0 }
	!skip { print }
' "$doc" > "$out"
cp "$out" "$doc"
echo "updated $doc from $in"
