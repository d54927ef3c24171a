//go:build integration

package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

// seedConversations creates n conversations whose started_at are spread out
// but include ties (every third shares its predecessor's time), so the id
// tie-breaker is exercised. It returns the ids in listing order.
func seedConversations(t testing.TB, s *store.Store, n int) []string {
	t.Helper()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type row struct {
		id string
		at time.Time
	}
	rows := make([]row, n)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Minute)
		if i%3 == 2 {
			at = rows[i-1].at
		}
		rows[i] = row{mustCreate(t, s, "m"), at}
		setStartedAt(t, s, rows[i].id, at)
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		// PostgreSQL orders uuid bytewise, which equals the order of the
		// lower-case canonical text form.
		switch {
		case a.id > b.id:
			return -1
		case a.id < b.id:
			return 1
		}
		return 0
	})
	ids := make([]string, n)
	for i, r := range rows {
		ids[i] = r.id
	}
	return ids
}

func summaryIDs(cs []store.ConversationSummary) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// TestListConversationsLimitAndOrder: at most 100, newest first, ties by id.
func TestListConversationsLimitAndOrder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	want := seedConversations(t, s, store.MaxPageSize+5)
	got, err := s.ListConversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxPageSize {
		t.Fatalf("got %d summaries, want the limit %d", len(got), store.MaxPageSize)
	}
	if !slices.Equal(summaryIDs(got), want[:store.MaxPageSize]) {
		t.Errorf("order = %v\nwant    %v", summaryIDs(got), want[:store.MaxPageSize])
	}
}

// TestPaginationAcrossInserts walks every page while new conversations keep
// arriving: each original conversation is seen exactly once, in order.
func TestPaginationAcrossInserts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	want := seedConversations(t, s, 37)
	var got []string
	cur := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListConversationsPage(ctx, cur, 5)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(page.Conversations) > 5 {
			t.Fatalf("page %d has %d items, limit 5", pages, len(page.Conversations))
		}
		got = append(got, summaryIDs(page.Conversations)...)
		// Newcomers start now(), newer than everything seeded.
		mustCreate(t, s, "newcomer")
		mustCreate(t, s, "newcomer")
		if page.NextCursor == "" {
			break
		}
		cur = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %v\nwant       %v", got, want)
	}
}

func TestListConversationsPageRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for _, limit := range []int{-1, 0, store.MaxPageSize + 1} {
		if _, err := s.ListConversationsPage(ctx, "", limit); !errors.Is(err, store.ErrInvalidLimit) {
			t.Errorf("limit %d: %v, want ErrInvalidLimit", limit, err)
		}
	}
	for _, cur := range []string{"!!!", "Zm9v", "YzE6MTIzOm5vdC1hLXV1aWQ", "YzI6MTIzOjZmMWMxZDdlLTljNTUtNGM0My04YTM4LTNmM2E5ZTBiNmExMQ"} {
		if _, err := s.ListConversationsPage(ctx, cur, 10); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", cur, err)
		}
	}
}

func TestListConversationsEmpty(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	got, err := s.ListConversations(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListConversations on an empty store = %v, %v; want none", got, err)
	}
	page, err := s.ListConversationsPage(context.Background(), "", 10)
	if err != nil || len(page.Conversations) != 0 || page.NextCursor != "" {
		t.Fatalf("first page of an empty store = %+v, %v", page, err)
	}
}
