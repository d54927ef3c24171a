//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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

// TestExecModeArrays: in the exec mode a transaction pooler needs, pgx
// learns no parameter types from the server, so the statements that take
// arrays of ids (the import, MessageOwners) must pass Go types pgx knows.
// Each mode imports a conversation and asks for its messages' owners.
func TestExecModeArrays(t *testing.T) {
	t.Parallel()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// Direct: the statement cache mode is the one a transaction pooler breaks.
			dsn := pgtest.Direct(t, pgtest.Migrated(t), "it compares pgx's exec modes, the statement cache among them")
			s, err := store.NewStore(ctx, dsn, store.WithConnConfig(func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode }))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			c := store.Conversation{ID: uuid.NewString(), Model: "m", StartedAt: at, Messages: []store.Message{
				{ID: uuid.NewString(), Role: store.RoleUser, Content: "q", CreatedAt: at},
				{ID: uuid.NewString(), Role: store.RoleAssistant, Content: "a", CreatedAt: at},
			}}
			if added, err := s.ImportConversation(ctx, c); err != nil || !added {
				t.Fatalf("ImportConversation = %v, %v", added, err)
			}
			owners, err := s.MessageOwners(ctx, []string{c.Messages[0].ID, c.Messages[1].ID})
			if err != nil {
				t.Fatalf("MessageOwners: %v", err)
			}
			if len(owners) != 2 || owners[c.Messages[0].ID] != c.ID || owners[c.Messages[1].ID] != c.ID {
				t.Errorf("MessageOwners = %v, want both in %s", owners, c.ID)
			}
		})
	}
}
