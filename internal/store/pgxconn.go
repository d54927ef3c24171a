package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// withPgx runs fn on one of the pool's connections as the *pgx.Conn under
// it. The hot paths (AddMessage, GetConversation) use pgx directly: through
// database/sql each value is boxed into a driver.Value and converted again
// by Scan, which made the store's calls allocate 3-10x what the plan's pgx
// code does (docs/performance.md). The pool, its limits and the
// connection's statement cache are the same either way.
func (s *Store) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		return fn(driverConn.(*stdlib.Conn).Conn())
	})
}
