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

// FuzzContentRoundTrip: for any model name and content, the store either
// refuses with its sentinel (ErrInvalidModel, ErrInvalidContent) and stores
// nothing, or gives back exactly the bytes it was given. One store and
// database serve the whole fuzz run; each input gets a fresh conversation,
// so "stores nothing" is a plain count. Seeds: testdata/fuzz/
// FuzzContentRoundTrip and f.Add below.
func FuzzContentRoundTrip(f *testing.F) {
	const limit = 64 << 10 // small, so the fuzzer reaches the limit
	s, err := store.NewStore(context.Background(), pgtest.Migrated(f), store.WithMaxContentBytes(limit))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	for _, seed := range [][2]string{
		{"gpt-4o", "hello"},
		{"", ""},
		{`'; DROP TABLE conversations; --`, `'); DELETE FROM messages; -- $1 $$ \x00 %s`},
		{"mødel", "Grüße 日本語 🧪 e\u0301 \u202e\ufeff"},
		{"m", "a\x00b"},
		{"m\x00", "x"},
		{"m", "\xff\xfe"},
		{"m", "\xed\xa0\x80"},
		{strings.Repeat("m", store.MaxModelBytes+1), "x"},
		{"m", strings.Repeat("x", limit+1)},
		{"m", "\t\r\n\x01\x7f"},
	} {
		f.Add(seed[0], seed[1])
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, model, content string) {
		before := countRows(t, s, `SELECT count(*) FROM conversations`)
		conv, err := s.CreateConversation(ctx, model)
		if err != nil {
			if !errors.Is(err, store.ErrInvalidModel) {
				t.Fatalf("CreateConversation(%q) = %v, want nil or ErrInvalidModel", model, err)
			}
			if after := countRows(t, s, `SELECT count(*) FROM conversations`); after != before {
				t.Fatalf("refused model %q changed the conversations: %d → %d", model, before, after)
			}
			return
		}
		id, err := s.AddMessage(ctx, conv, store.RoleUser, content)
		got, gerr := s.GetConversation(ctx, conv)
		if gerr != nil {
			t.Fatalf("GetConversation: %v", gerr)
		}
		if got.Model != model {
			t.Fatalf("model changed in the round trip: %q → %q", model, got.Model)
		}
		if err != nil {
			if !errors.Is(err, store.ErrInvalidContent) {
				t.Fatalf("AddMessage(%q) = %v, want nil or ErrInvalidContent", content, err)
			}
			if len(got.Messages) != 0 {
				t.Fatalf("refused content was stored: %+v", got.Messages)
			}
			return
		}
		if len(got.Messages) != 1 || got.Messages[0].ID != id || got.Messages[0].Content != content {
			t.Fatalf("content changed in the round trip: %q → %+v", content, got.Messages)
		}
	})
}

func countRows(t *testing.T, s *store.Store, query string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
