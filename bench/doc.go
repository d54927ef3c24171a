// Package bench holds the benchmarks of internal/store against the
// hand-written pgx baseline (package baseline), and those of the advisor's
// streaming replies, persisted as they stream against not flushed until
// their end (stream_bench_test.go). They build only with the tag "bench",
// so `make test` never compiles or runs them; `make bench` does. See
// docs/performance.md.
package bench
