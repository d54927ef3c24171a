// Package bench holds the benchmarks of internal/store against the
// hand-written pgx baseline (package baseline). They build only with the tag
// "bench", so `make test` never compiles or runs them; `make bench` does.
// See docs/performance.md.
package bench
