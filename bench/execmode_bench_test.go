//go:build bench

package bench

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"git.georgsen.dk/hwlab/bench/benchdata"
)

// BenchmarkExecMode prices PgBouncer's transaction mode for the store: with
// default_query_exec_mode=exec in the DSN, pgx sends each statement unnamed
// (parse, bind, execute in one round trip) instead of preparing it once per
// connection (cache_statement, the default), which a transaction-mode
// PgBouncer cannot offer. op=select is a bare round trip; op=get is
// GetConversation of a 2-message thread.
func BenchmarkExecMode(b *testing.B) {
	for _, op := range []string{"select", "get"} {
		for _, mode := range []string{"cache_statement", "exec"} {
			b.Run(fmt.Sprintf("op=%s/mode=%s", op, mode), func(b *testing.B) {
				o := open(b, implStore, withExecMode(b, readDB(b, schemaMigrated, spec100k), mode))
				id := benchdata.ThreadID(2)
				measure(b, o, func(ctx context.Context) error {
					if op == "select" {
						var n int64
						return o.st.DB().QueryRowContext(ctx, "SELECT $1::int8", int64(1)).Scan(&n)
					}
					_, err := o.GetConversation(ctx, id)
					return err
				})
			})
		}
	}
}

func withExecMode(b *testing.B, dsn, mode string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal("DSN does not parse")
	}
	q := u.Query()
	q.Set("default_query_exec_mode", mode)
	u.RawQuery = q.Encode()
	return u.String()
}
