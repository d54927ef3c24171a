//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestPreparedStatementsThroughPooler: two stores (two instances) on one
// database through a PgBouncer in transaction mode. Debian's PgBouncer
// (1.18) keeps no prepared statements per client, so without
// default_query_exec_mode=exec pgx's statement cache collides on the
// server connections they share (42P05, or 26000 when a statement is
// missing): every such failure is ErrStatementCache, whose text names the
// setting, and nothing else fails. With the setting, every call succeeds.
func TestPreparedStatementsThroughPooler(t *testing.T) {
	t.Parallel()
	pooled := pgtest.ThroughBouncer(t, pgtest.Migrated(t))
	for _, tc := range []struct {
		name      string
		dsn       string
		wantFails bool
	}{
		{"without the exec mode", pooled, true},
		{"with default_query_exec_mode=exec", pgtest.WithExecMode(pooled), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var stores [2]*store.Store
			for i := range stores {
				s, err := store.NewStore(ctx, tc.dsn)
				if err != nil {
					t.Fatalf("NewStore: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			const rounds = 10
			fails := 0
			for i := range rounds * len(stores) {
				s := stores[i%len(stores)]
				_, err := s.ListConversations(ctx)
				if err == nil {
					continue
				}
				fails++
				t.Logf("call %d: %v", i, err)
				if !errors.Is(err, store.ErrStatementCache) {
					t.Errorf("call %d: %v, want ErrStatementCache", i, err)
				}
				if !strings.Contains(err.Error(), "default_query_exec_mode=exec") {
					t.Errorf("call %d: %q does not name default_query_exec_mode=exec", i, err)
				}
			}
			if tc.wantFails && fails == 0 {
				t.Errorf("no call of %d failed: the pooler did not share server connections between the stores", rounds*len(stores))
			}
			if !tc.wantFails && fails > 0 {
				t.Errorf("%d of %d calls failed", fails, rounds*len(stores))
			}
		})
	}
}
