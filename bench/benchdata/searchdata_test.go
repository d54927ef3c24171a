//go:build integration

package benchdata_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestLoadSearch: the search data set on a small scale (CI's; make bench
// loads a million): deterministic, the planted terms at their
// selectivities, found by the store's Search, and the text varied.
func TestLoadSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec := benchdata.SearchSpec{Messages: 20_000, PerConversation: 20}
	var digests [2]string
	for i := range digests {
		url := pgtest.Migrated(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		start := time.Now()
		if err := benchdata.LoadSearch(ctx, conn, spec, nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("loaded %d messages in %s", spec.Messages, time.Since(start))
		if err := conn.QueryRow(ctx, `SELECT md5(string_agg(content, '|' ORDER BY created_at)) FROM messages`).Scan(&digests[i]); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			break
		}
		for _, tc := range []struct {
			terms [3]string
			want  int
		}{{benchdata.RareTerms, 1}, {benchdata.MilliTerms, 20}, {benchdata.DeciTerms, 2000}} {
			for _, term := range tc.terms {
				var n int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE content ILIKE '%' || $1 || '%'`, term).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != tc.want {
					t.Errorf("%q in %d messages, want %d", term, n, tc.want)
				}
			}
		}
		var distinct, msgs int
		var avgWords float64
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM ts_stat('SELECT search_vector FROM messages')),
			count(*), avg(array_length(regexp_split_to_array(content, ' '), 1)) FROM messages`).Scan(&distinct, &msgs, &avgWords); err != nil {
			t.Fatal(err)
		}
		if msgs != spec.Messages || distinct < 1000 || avgWords < 30 || avgWords > 50 {
			t.Errorf("%d messages, %d distinct lexemes, %.1f words a message", msgs, distinct, avgWords)
		}
		s, err := store.NewStore(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		page, err := s.Search(ctx, strings.Join(benchdata.RareTerms[:], " "), "", 20)
		if err != nil || len(page.Hits) != 1 {
			t.Fatalf("Search for the rare terms: %+v, %v", page, err)
		}
		page, err = s.Search(ctx, benchdata.DeciTerms[0], "", 20)
		if err != nil || len(page.Hits) != 20 || page.NextCursor == "" {
			t.Fatalf("Search for a frequent term: %d hits, %v", len(page.Hits), err)
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("two loads differ: %s, %s", digests[0], digests[1])
	}
}
