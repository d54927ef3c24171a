//go:build integration

package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// corpus is one message per key; the match table names the keys a query
// must find.
var corpus = map[string]string{
	"scrub":    "The ZFS scrub on nvme0n1 finished without errors.",
	"scrubrev": "Errors: none. Scrub finished for the pool on ZFS.",
	"grosse":   "Die Grösse der Partition ist zu klein.",
	"GROSSE":   "GRÖSSE: 512 GiB",
	"nvmepath": "Mount /dev/nvme0n1 on /mnt/data, then check /etc/fstab.",
	"ip":       "The NAS answers on 192.168.1.10 since Tuesday.",
	"zfsver":   "Upgrade to zfs-2.2.6 fixed it.",
	"cve":      "xz backdoor: CVE-2024-3094 affects liblzma.",
	"force":    "Run zpool import --force tank.",
	"pghba":    "Edit pg_hba.conf and reload.",
	"hex":      "The register reads 0x7f after reset.",
	"sda":      "Replace sda1 before it fails.",
	"prefix":   "Configuration of the configurator is configurable.",
	"sql":      "'; DROP TABLE messages; -- is what a bad bot types",
	"phrase":   "scrub the pool, then finished",
	"thermal":  "Thermal throttling at 85 °C.",
}

// TestSearchMatchTable: every row of issue 13's table, each against the
// whole corpus, so a row proves what it finds and what it does not.
func TestSearchMatchTable(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	byID := map[string]string{}
	for key, text := range corpus {
		byID[mustAdd(t, s, conv, store.RoleAssistant, text)] = key
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// words: all of them, in any order, case- and accent-insensitively, stemmed
		{"scrub finished", []string{"scrub", "scrubrev", "phrase"}},
		{"finished SCRUB", []string{"scrub", "scrubrev", "phrase"}},
		{"scrubbing", []string{"phrase", "scrub", "scrubrev"}},
		{"größe", []string{"grosse", "GROSSE"}},
		{"grösse", []string{"grosse", "GROSSE"}},
		{"GROSSE", []string{"grosse", "GROSSE"}},
		// "quoted phrase": adjacent, in order
		{`"scrub finished"`, []string{"scrubrev"}},
		{`"finished scrub"`, nil},
		{`"scrub on nvme0n1"`, []string{"scrub"}},
		{`"finished without errors"`, []string{"scrub"}},
		{`"zfs scrub"`, []string{"scrub"}},
		{`"scrub zfs"`, nil},
		// word*: the prefix
		{"configur*", []string{"prefix"}},
		{"config*", []string{"prefix"}},
		{"nvme*", []string{"scrub", "nvmepath"}},
		{"the*", []string{"thermal"}}, // a stop word as a prefix still means a prefix (of the words indexed)
		// technical tokens as typed, and each part
		{"nvme0n1", []string{"scrub", "nvmepath"}},
		{"/dev/nvme0n1", []string{"nvmepath"}},
		{"/etc/fstab", []string{"nvmepath"}},
		{"fstab", []string{"nvmepath"}},
		{"192.168.1.10", []string{"ip"}},
		{"168", []string{"ip"}},
		{"zfs-2.2.6", []string{"zfsver"}},
		{"CVE-2024-3094", []string{"cve"}},
		{"cve-2024-3094", []string{"cve"}},
		{"2024", []string{"cve"}},
		{"3094", []string{"cve"}},
		{"sda1", []string{"sda"}},
		{"--force", []string{"force"}},
		{"pg_hba.conf", []string{"pghba"}},
		{"hba", []string{"pghba"}},
		{"0x7f", []string{"hex"}},
		// -word excludes
		{"scrub -nvme0n1", []string{"scrubrev", "phrase"}},
		{`scrub -"zfs scrub"`, []string{"scrubrev", "phrase"}},
		{"-scrub", nil}, // exclusions alone find nothing
		// stop words, operators, unbalanced quotes, SQL: text, never an error
		{"the", nil},
		{"the a of", nil},
		{`- * " "" -"" **`, nil},
		{`"scrub finished`, []string{"scrub", "scrubrev", "phrase"}},
		{`scrub" finished`, []string{"scrub", "scrubrev", "phrase"}},
		{"'; DROP TABLE messages; --", []string{"sql"}},
		{`\'' & | ! <-> :* ( )`, nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			page, err := s.Search(context.Background(), tc.query, "", store.MaxPageSize)
			if err != nil {
				t.Fatalf("Search(%q): %v", tc.query, err)
			}
			var got []string
			for _, h := range page.Hits {
				if h.MessageID == "" {
					continue // the title (the first user message) is tested elsewhere
				}
				got = append(got, byID[h.MessageID])
			}
			sort.Strings(got)
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Search(%q) found %v, want %v", tc.query, got, want)
			}
		})
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages`); n != len(corpus) {
		t.Fatalf("%d messages after the searches, want %d", n, len(corpus))
	}
}

// TestPostgresSearchDefaults proves what issue 13 says PostgreSQL 15 does by
// default, which is why the store does not use these functions as they are.
func TestPostgresSearchDefaults(t *testing.T) {
	t.Parallel()
	db := newStore(t).DB()
	for _, tc := range []struct{ sql, want string }{
		{`SELECT websearch_to_tsquery('english', 'word*')::text`, `'word'`},
		{`SELECT websearch_to_tsquery('english', '--force')::text`, `!!'forc'`},
		{`SELECT websearch_to_tsquery('english', 'CVE-2024-3094')::text`, `'cve' <-> '-2024' <-> '-3094'`},
		{`SELECT to_tsvector('english', '/dev/nvme0n1') @@ websearch_to_tsquery('english', 'nvme0n1')`, "false"},
		{`SELECT websearch_to_tsquery('english', 'the')::text`, ``},
		{`SELECT unaccent('größe') = unaccent('Grösse')::text COLLATE "C" OR lower(unaccent('größe')) = lower(unaccent('Grösse'))`, "true"},
		{`SELECT provolatile::text FROM pg_proc WHERE oid = 'unaccent(text)'::regprocedure`, "s"},
		{`SELECT provolatile::text FROM pg_proc WHERE oid = 'hwlab_search_vector(text)'::regprocedure`, "i"},
		// positions stop at 16383: the 20000th word sits at 16383
		{`SELECT (SELECT max(p) FROM unnest(to_tsvector('simple', string_agg('w' || i, ' '))) u, unnest(u.positions) p)::text
			FROM generate_series(1, 20000) i`, "16383"},
	} {
		var got string
		if err := db.QueryRowContext(context.Background(), tc.sql).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.sql, got, tc.want)
		}
	}
	_, err := db.ExecContext(context.Background(), `SELECT to_tsquery('english', 'zfs scrub')`)
	if err == nil || !strings.Contains(err.Error(), "42601") {
		t.Errorf("to_tsquery on raw input = %v, want a syntax error (42601)", err)
	}
}

// TestSearchBadInput: each refusal is its sentinel; nothing reaches SQL.
func TestSearchBadInput(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, query, cursor string
		limit               int
		want                error
	}{
		{"empty", "", "", 20, store.ErrInvalidQuery},
		{"blank", " \t\n ", "", 20, store.ErrInvalidQuery},
		{"too long", strings.Repeat("a", store.MaxQueryBytes+1), "", 20, store.ErrInvalidQuery},
		{"NUL", "zfs\x00scrub", "", 20, store.ErrInvalidQuery},
		{"invalid UTF-8", "zfs \xff", "", 20, store.ErrInvalidQuery},
		{"limit 0", "zfs", "", 0, store.ErrInvalidLimit},
		{"limit 101", "zfs", "", store.MaxPageSize + 1, store.ErrInvalidLimit},
		{"cursor not base64", "zfs", "!!!", 20, store.ErrInvalidCursor},
		{"cursor of a listing", "zfs", "YzE6MTox", 20, store.ErrInvalidCursor},
		{"cursor with a NaN rank", "zfs", b64("s1:1:7fc00000:1:6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11:0"), 20, store.ErrInvalidCursor},
	} {
		if _, err := s.Search(ctx, tc.query, tc.cursor, tc.limit); !errors.Is(err, tc.want) {
			t.Errorf("%s: Search = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.Search(ctx, strings.Repeat("a", store.MaxQueryBytes), "", 20); err != nil {
		t.Errorf("a query of exactly MaxQueryBytes: %v", err)
	}
}

// TestSearchPaging: pages follow the order rank, then newest, without
// repeats or gaps, while messages arrive; a cursor names its query.
func TestSearchPaging(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	conv := mustCreate(t, s, "m")
	mustAdd(t, s, conv, store.RoleUser, "untitled start") // the title, no match
	want := map[string]bool{}
	for i := range 25 {
		text := "scrub report"
		if i%5 == 0 {
			text = "scrub scrub scrub: a better match"
		}
		want[mustAdd(t, s, conv, store.RoleAssistant, text)] = true
	}
	seen := map[string]bool{}
	cur := ""
	for pages := 0; ; pages++ {
		page, err := s.Search(ctx, "scrub", cur, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Hits {
			if seen[h.MessageID] {
				t.Fatalf("hit %s repeated on page %d", h.MessageID, pages)
			}
			seen[h.MessageID] = true
		}
		if pages == 0 {
			if !strings.Contains(page.Hits[0].Snippet, "scrub scrub scrub") {
				t.Fatalf("best hit first, got %q", page.Hits[0].Snippet)
			}
			if _, err := s.Search(ctx, "report", page.NextCursor, 7); !errors.Is(err, store.ErrInvalidCursor) {
				t.Fatalf("cursor of another query: %v", err)
			}
		}
		// New matches arrive between pages; they belong to a new search.
		mustAdd(t, s, conv, store.RoleAssistant, "scrub scrub scrub scrub newer")
		if page.NextCursor == "" {
			break
		}
		cur = page.NextCursor
	}
	if len(seen) != len(want) {
		t.Fatalf("paged through %d hits, want the %d there were at the first page", len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Fatalf("hit %s skipped", id)
		}
	}
}

// TestSearchTitleAndSnippet: a title hit has no message id; snippets are the
// stored text, marked where the query matched, accents and paths included.
func TestSearchTitleAndSnippet(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	conv := mustCreate(t, s, "m")
	if err := s.SetTitle(ctx, conv, "Größe of the ZFS pool"); err != nil {
		t.Fatal(err)
	}
	msg := mustAdd(t, s, conv, store.RoleUser, "Check <b>/dev/nvme0n1</b> & the GRÖSSE of sda1")
	page, err := s.Search(ctx, "grosse", "", 20)
	if err != nil || len(page.Hits) != 2 {
		t.Fatalf("Search = %+v, %v", page, err)
	}
	title, hit := page.Hits[0], page.Hits[1]
	if title.MessageID != "" || title.Role != "" || title.ConversationID != conv || marked(title) != "[Größe] of the ZFS pool" {
		t.Fatalf("title hit (a title ranks first) %+v: %s", title, marked(title))
	}
	if hit.MessageID != msg || hit.Role != store.RoleUser || hit.ConversationTitle != "Größe of the ZFS pool" {
		t.Fatalf("message hit %+v", hit)
	}
	if got := marked(hit); got != "Check <b>/dev/nvme0n1</b> & the [GRÖSSE] of sda1" {
		t.Fatalf("snippet %q", got)
	}
	page, err = s.Search(ctx, "/dev/nvme0n1", "", 20)
	if err != nil || len(page.Hits) != 1 {
		t.Fatalf("Search = %+v, %v", page, err)
	}
	if got := marked(page.Hits[0]); got != "Check <b>/[dev]/[nvme0n1]</b> & the GRÖSSE of sda1" {
		t.Fatalf("snippet %q", got)
	}
}

// marked renders a hit's highlights as [brackets].
func marked(h store.SearchHit) string {
	r := []rune(h.Snippet)
	var b strings.Builder
	at := 0
	for _, m := range h.Highlights {
		b.WriteString(string(r[at:m.Start]) + "[" + string(r[m.Start:m.End]) + "]")
		at = m.End
	}
	b.WriteString(string(r[at:]))
	return b.String()
}

// TestSearchLargeContent: a message at the 4 MiB content limit of distinct
// words, the tsvector's worst case, stays storable (the whole text would
// make a tsvector over 1 MiB, SQLSTATE 54000); the first 200000 characters
// are searchable, the rest is not.
func TestSearchLargeContent(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	conv := mustCreate(t, s, "m")
	var b strings.Builder
	b.WriteString("early ")
	for i := 0; b.Len() < store.DefaultMaxContentBytes-16; i++ {
		b.WriteString(base36(i))
		b.WriteByte(' ')
	}
	b.WriteString("tailword")
	text := b.String()
	// The whole text would not fit a tsvector: what the cut prevents.
	_, err := s.DB().ExecContext(ctx, `SELECT to_tsvector('public.hwlab_search', hwlab_search_text($1))`, text)
	if err == nil || !strings.Contains(err.Error(), "54000") {
		t.Fatalf("a tsvector of the whole text: %v, want SQLSTATE 54000", err)
	}
	id := mustAdd(t, s, conv, store.RoleAssistant, text)
	for _, tc := range []struct {
		query string
		found bool
	}{{"early", true}, {base36(10000), true}, {"tailword", false}} {
		page, err := s.Search(ctx, tc.query, "", 20)
		if err != nil {
			t.Fatal(err)
		}
		if found := len(page.Hits) == 1 && page.Hits[0].MessageID == id; found != tc.found {
			t.Errorf("Search(%q) found the large message: %v, want %v", tc.query, found, tc.found)
		}
	}
}

func base36(i int) string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	s := ""
	for {
		s = string(digits[i%36]) + s
		if i /= 36; i == 0 {
			return "q" + s
		}
	}
}

// TestSearchStreamingReply: a reply is indexed once, when it ends; its
// flushes write only message_chunks, so a streaming reply is not found.
func TestSearchStreamingReply(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, reply := startedReply(t, s, "a")
	if _, err := s.FlushReply(ctx0, reply.ID, store.Chunk{N: 0, Text: "resilver the mirror "}); err != nil {
		t.Fatal(err)
	}
	if page, err := s.Search(ctx0, "resilver", "", 20); err != nil || len(page.Hits) != 0 {
		t.Fatalf("streaming reply found: %+v, %v", page, err)
	}
	var indexed string
	s.DB().QueryRow(`SELECT search_vector::text FROM messages WHERE id = $1`, reply.ID).Scan(&indexed)
	if indexed != "" {
		t.Fatalf("streaming reply's vector = %q, want empty", indexed)
	}
	if _, err := s.FinishReply(ctx0, reply.ID, []store.Chunk{{N: 1, Text: "now"}}, store.Final{Status: store.StatusComplete}); err != nil {
		t.Fatal(err)
	}
	page, err := s.Search(ctx0, "resilver", "", 20)
	if err != nil || len(page.Hits) != 1 || page.Hits[0].MessageID != reply.ID || page.Hits[0].Role != store.RoleAssistant {
		t.Fatalf("finished reply: %+v, %v", page, err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestSearchWindow: the hits are the newest window's matches, whether the
// walk of the newest messages holds them all or the index supplies the
// older ones; pages through them end with the window.
func TestSearchWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ window, walk int }{{3, 5}, {3, 40}, {3, 1}, {10, 5}, {200, 2000}} {
		t.Run(fmt.Sprintf("window=%d/walk=%d", tc.window, tc.walk), func(t *testing.T) {
			t.Parallel()
			s := newStore(t, store.WithSearchWindow(tc.window, tc.walk))
			conv := mustCreate(t, s, "m")
			mustAdd(t, s, conv, store.RoleUser, "untitled")
			var matches []string // newest first
			for i := range 20 {
				text := "nothing here"
				if i%4 == 0 {
					text = "scrub report"
				}
				id := mustAdd(t, s, conv, store.RoleAssistant, text)
				if i%4 == 0 {
					matches = append([]string{id}, matches...)
				}
			}
			want := matches[:min(tc.window, len(matches))]
			var got []string
			for cur := ""; ; {
				page, err := s.Search(ctx0, "scrub", cur, 2)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range page.Hits {
					got = append(got, h.MessageID)
				}
				if cur = page.NextCursor; cur == "" {
					break
				}
			}
			// Equal ranks: newest first.
			if !slices.Equal(got, want) {
				t.Fatalf("hits %v, want the newest %d matches %v", got, len(want), want)
			}
		})
	}
}
