//go:build integration

package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/store"
)

// statementCounter counts the statements pgx sends.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (*statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestOneStatementPerCall pins the query budget through a tracer
// installed with WithConnConfig: every call is one statement (one round
// trip), GetConversation included.
func TestOneStatementPerCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var qc statementCounter
	s := newStore(t, store.WithConnConfig(func(c *pgx.ConnConfig) { c.Tracer = &qc }))
	id := mustCreate(t, s, "m")
	mustAdd(t, s, id, "user", "hi")

	calls := []struct {
		name string
		call func() error
	}{
		{"CreateConversation", func() error { _, err := s.CreateConversation(ctx, "m"); return err }},
		{"AddMessage", func() error { _, err := s.AddMessage(ctx, id, "assistant", "hello"); return err }},
		{"GetConversation", func() error { _, err := s.GetConversation(ctx, id); return err }},
		{"ListConversations", func() error { _, err := s.ListConversations(ctx); return err }},
		{"ListConversationsPage", func() error { _, err := s.ListConversationsPage(ctx, "", 1); return err }},
	}
	for _, c := range calls {
		before := qc.n.Load()
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := qc.n.Load() - before; n != 1 {
			t.Errorf("%s sent %d statements, want 1", c.name, n)
		}
	}
}
