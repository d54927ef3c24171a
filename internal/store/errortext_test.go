//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// repeatedLayer returns what an error text says twice: the store's name,
// or any ": "-separated segment (a layer adding context its cause had
// already added). "" when each layer speaks once.
func repeatedLayer(msg string) string {
	if strings.Count(msg, "store:") > 1 {
		return "store:"
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(msg, ": ") {
		if seen[seg] {
			return seg
		}
		seen[seg] = true
	}
	return ""
}

// TestErrorTextNamesEachLayerOnce: every error a store method returns,
// produced for real against PostgreSQL, begins with "store: " and the
// operation, names the store once, repeats no segment, and still matches
// its sentinel. (It read "store: get conversation …: store: not found".)
func TestErrorTextNamesEachLayerOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, store.WithMaxContentBytes(16))
	id := mustCreate(t, s, "m")
	const missing = "00000000-0000-4000-8000-000000000001"
	for _, tt := range []struct {
		name string
		want error
		call func() error
		// driver: the text ends with the driver's own, quoted as it is
		// (pgx repeats "connect" in it); only the store's part is checked.
		driver bool
	}{
		{name: "get missing", want: store.ErrNotFound, call: func() error { _, err := s.GetConversation(ctx, missing); return err }},
		{name: "get malformed", want: store.ErrNotFound, call: func() error { _, err := s.GetConversation(ctx, "nope"); return err }},
		{name: "summary missing", want: store.ErrNotFound, call: func() error { _, err := s.GetConversationSummary(ctx, missing); return err }},
		{name: "summary malformed", want: store.ErrNotFound, call: func() error { _, err := s.GetConversationSummary(ctx, "nope"); return err }},
		{name: "add to missing", want: store.ErrNotFound, call: func() error { _, err := s.AddMessage(ctx, missing, "user", "x"); return err }},
		{name: "add to malformed", want: store.ErrNotFound, call: func() error { _, err := s.AddMessage(ctx, "nope", "user", "x"); return err }},
		{name: "add invalid role", want: store.ErrInvalidRole, call: func() error { _, err := s.AddMessage(ctx, id, "User", "x"); return err }},
		{name: "add too large", want: store.ErrContentTooLarge, call: func() error { _, err := s.AddMessage(ctx, id, "user", strings.Repeat("x", 17)); return err }},
		{name: "add NUL", want: store.ErrInvalidContent, call: func() error { _, err := s.AddMessage(ctx, id, "user", "a\x00b"); return err }},
		{name: "title missing", want: store.ErrNotFound, call: func() error { return s.SetTitle(ctx, missing, "t") }},
		{name: "title too long", want: store.ErrInvalidTitle, call: func() error { return s.SetTitle(ctx, id, strings.Repeat("t", store.MaxTitleBytes+1)) }},
		{name: "delete missing", want: store.ErrNotFound, call: func() error { return s.DeleteConversation(ctx, missing) }},
		{name: "delete malformed", want: store.ErrNotFound, call: func() error { return s.DeleteConversation(ctx, "nope") }},
		{name: "create invalid model", want: store.ErrInvalidModel, call: func() error { _, err := s.CreateConversation(ctx, "a\x00"); return err }},
		{name: "list invalid limit", want: store.ErrInvalidLimit, call: func() error { _, err := s.ListConversationsPage(ctx, "", 0); return err }},
		{name: "list invalid cursor", want: store.ErrInvalidCursor, call: func() error { _, err := s.ListConversationsPage(ctx, "!!", 10); return err }},
		{name: "owners invalid id", want: store.ErrInvalidRecord, call: func() error { _, err := s.MessageOwners(ctx, []string{"nope"}); return err }},
		{name: "check import", want: store.ErrInvalidRecord, call: func() error { return s.CheckImport(store.Conversation{ID: "nope"}) }},
		{name: "import", want: store.ErrInvalidRecord, call: func() error { _, err := s.ImportConversation(ctx, store.Conversation{ID: "nope"}); return err }},
		{name: "unreachable", want: store.ErrUnavailable, driver: true, call: func() error {
			_, err := store.NewStore(ctx, "postgres://u:pw@127.0.0.1:1/x?connect_timeout=5")
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "store: ") {
				t.Errorf("%q does not begin with the store's name", msg)
			}
			if tt.driver {
				msg, _, _ = strings.Cut(msg, "failed to connect")
			}
			if what := repeatedLayer(msg); what != "" {
				t.Errorf("%q says %q twice", msg, what)
			}
		})
	}
}
