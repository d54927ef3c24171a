package store

import "github.com/jackc/pgx/v5"

// WithConnConfig lets the caller adjust the parsed pgx connection config
// before the pool opens: a pgx.QueryTracer (benchmarks count statements with
// one), or settings that have no DSN key. fn must not keep the pointer.
// Several WithConnConfig options apply in order.
func WithConnConfig(fn func(*pgx.ConnConfig)) Option {
	return func(c *config) { c.connConfig = append(c.connConfig, fn) }
}
