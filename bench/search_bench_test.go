//go:build bench

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
)

var (
	searchMessages = flag.Int("search-messages", 1_000_000, "messages in the search benchmarks' data set")
	searchOut      = flag.String("search-report", "", "write TestSearchReport's plans, sizes and upgrade timings to this file (default: the test log)")
)

// searchSpec is the search data set: -search-messages messages (a million
// by default) in conversations of 20.
func searchSpec() benchdata.SearchSpec {
	return benchdata.SearchSpec{Messages: *searchMessages, PerConversation: 20}
}

// searchSelectivities are the planted term groups, rarest first.
var searchSelectivities = []struct {
	name  string
	terms [3]string
}{
	{"1msg", benchdata.RareTerms},
	{"0.1%", benchdata.MilliTerms},
	{"10%", benchdata.DeciTerms},
}

// searchDB returns the URL of a database holding the search data set, read
// only, loaded once (and kept on HWLAB_TEST_DATABASE_URL's server, like
// readDB's). Before the data set is marked loaded, the search migration is
// undone and applied again on the full table, timed statement by
// statement: what an upgrade of this many messages costs (upgradeTimings).
func searchDB(tb testing.TB) string {
	tb.Helper()
	spec := searchSpec()
	name := fmt.Sprintf("hwlab_bench_search_%d", spec.Messages)
	marker := fmt.Sprintf("%s search %+v", dataVersion, spec)
	return cachedDB(tb, name, func(ctx context.Context, admin *pgx.Conn) (bool, error) {
		var comment *string
		err := admin.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name).Scan(&comment)
		return err == nil && comment != nil && *comment == marker, nil
	}, func(ctx context.Context, conn *pgx.Conn) error {
		start := time.Now()
		if err := applySchema(ctx, conn, schemaMigrated); err != nil {
			return err
		}
		if err := benchdata.LoadSearch(ctx, conn, spec, nil); err != nil {
			return err
		}
		tb.Logf("loaded %s (%d messages) in %s", name, spec.Messages, time.Since(start).Round(time.Millisecond))
		if err := timeUpgrade(ctx, conn); err != nil {
			return err
		}
		for _, q := range []string{
			"VACUUM ANALYZE conversations, messages",
			"ALTER DATABASE " + name + " SET default_transaction_read_only = on",
			"COMMENT ON DATABASE " + name + " IS '" + marker + "'",
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// undoSearch is the schema before the search migration: what AddMessage's
// paired comparison runs against, and where the timed upgrade starts.
var undoSearch = []string{
	"ALTER TABLE messages DROP COLUMN search_vector", // and its GIN index
	"DROP INDEX conversations_title_search_idx",
	"DROP INDEX messages_created_at_id_idx",
}

// timeUpgrade undoes the search migration's table objects and runs the
// migration's statements again, as `advisor migrate apply` does for a
// txmode none file (one at a time, outside a transaction), recording each
// one's time in the table bench_upgrade.
func timeUpgrade(ctx context.Context, conn *pgx.Conn) error {
	// The server's defaults, not the loader's (maintenance_work_mem 256MB).
	for _, q := range append([]string{"RESET ALL"}, undoSearch...) {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	// A rewrite-free ADD COLUMN would be instant; a fair start has the
	// table as it was: no dead space from the dropped column.
	for _, q := range []string{"VACUUM FULL messages", "ANALYZE messages"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	stmts, err := searchMigration()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE bench_upgrade (ord int, stmt text, ms float8)"); err != nil {
		return err
	}
	for i, stmt := range stmts {
		start := time.Now()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		ms := float64(time.Since(start).Microseconds()) / 1000
		if _, err := conn.Exec(ctx, "INSERT INTO bench_upgrade VALUES ($1, $2, $3)", i, stmt, ms); err != nil {
			return err
		}
	}
	return nil
}

// searchMigration is the statements of the embedded search migration.
func searchMigration() ([]string, error) {
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name(), "_search.sql") {
			return f.(*atlasmigrate.LocalFile).Stmts()
		}
	}
	return nil, fmt.Errorf("no search migration")
}

// The Open WebUI scan, for one to three words: every word a substring.
const (
	ilike1SQL = `SELECT id, conversation_id, created_at FROM messages WHERE content ILIKE $1 ORDER BY created_at DESC LIMIT 20`
	ilike2SQL = `SELECT id, conversation_id, created_at FROM messages WHERE content ILIKE $1 AND content ILIKE $2 ORDER BY created_at DESC LIMIT 20`
	ilike3SQL = `SELECT id, conversation_id, created_at FROM messages WHERE content ILIKE $1 AND content ILIKE $2 AND content ILIKE $3 ORDER BY created_at DESC LIMIT 20`
)

func ilike(ctx context.Context, conn *pgx.Conn, words []string) (int, error) {
	args := make([]any, len(words))
	for i, w := range words {
		args[i] = "%" + w + "%"
	}
	sql := [...]string{ilike1SQL, ilike2SQL, ilike3SQL}[len(words)-1]
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// BenchmarkSearch: the store's Search (top 20) and the ILIKE scan (with and
// without the recency index), side by side on the same data, for one to three words of each selectivity. Each
// reports the median and the 99th percentile of its calls (p50-ms,
// p99-ms) besides the mean.
func BenchmarkSearch(b *testing.B) {
	dsn := searchDB(b)
	ctx := context.Background()
	s, err := store.NewStore(ctx, dsn, store.WithPool(2, 2, time.Hour, time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	// The same scan on a table without the (created_at, id) index, as Open
	// WebUI's is: with it, the planner walks that index for a frequent word
	// and stops after 20 rows, which is this schema's doing, not ILIKE's.
	noIndex, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { noIndex.Close(context.Background()) })
	if _, err := noIndex.Exec(ctx, "SET enable_indexscan = off"); err != nil {
		b.Fatal(err)
	}
	for _, sel := range searchSelectivities {
		for words := 1; words <= 3; words++ {
			terms := sel.terms[:words]
			q := strings.Join(terms, " ")
			b.Run(fmt.Sprintf("sel=%s/words=%d/impl=store", sel.name, words), func(b *testing.B) {
				latencies(b, func() error {
					page, err := s.Search(ctx, q, "", 20)
					if err == nil && len(page.Hits) == 0 {
						err = fmt.Errorf("no hits for %q", q)
					}
					return err
				})
			})
			for _, c := range []struct {
				impl string
				conn *pgx.Conn
			}{{"ilike", conn}, {"ilike-noindex", noIndex}} {
				b.Run(fmt.Sprintf("sel=%s/words=%d/impl=%s", sel.name, words, c.impl), func(b *testing.B) {
					latencies(b, func() error {
						n, err := ilike(ctx, c.conn, terms)
						if err == nil && n == 0 {
							err = fmt.Errorf("no rows for %q", q)
						}
						return err
					})
				})
			}
		}
	}
}

// latencies runs op b.N times (after one untimed warm-up call) and reports
// the median and 99th percentile of the calls.
func latencies(b *testing.B, op func() error) {
	b.Helper()
	if err := op(); err != nil {
		b.Fatal(err)
	}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(d)
	ms := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

var searchReportOnce sync.Once

// TestSearchReport writes, for docs/performance.md: EXPLAIN (ANALYZE,
// BUFFERS) of each query shape (the store's search statement and the ILIKE
// scan), the sizes of the search objects per million messages, and the
// timed upgrade. It runs once per process.
func TestSearchReport(t *testing.T) {
	searchReportOnce.Do(func() { searchReport(t) })
}

func searchReport(t *testing.T) {
	ctx := context.Background()
	dsn := searchDB(t)
	rec := &recorder{}
	s, err := store.NewStore(ctx, dsn, store.WithConnConfig(func(c *pgx.ConnConfig) { c.Tracer = rec }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out strings.Builder
	fmt.Fprintf(&out, "Data set: %d messages (bench/benchdata.SearchSpec).\n\n", searchSpec().Messages)

	shapes := []struct{ name, query string }{}
	for _, sel := range searchSelectivities {
		shapes = append(shapes,
			struct{ name, query string }{sel.name + ", one word", sel.terms[0]},
			struct{ name, query string }{sel.name + ", three words", strings.Join(sel.terms[:], " ")})
	}
	shapes = append(shapes,
		struct{ name, query string }{"10%, a phrase", `"` + strings.Join(benchdata.DeciTerms[:2], " ") + `"`},
		struct{ name, query string }{"0.1%, a prefix", benchdata.MilliTerms[0][:4] + "*"},
		struct{ name, query string }{"10% and 0.1% (AND)", benchdata.DeciTerms[0] + " " + benchdata.MilliTerms[0]},
	)
	for _, sh := range shapes {
		if _, err := s.Search(ctx, sh.query, "", 20); err != nil {
			t.Fatal(err)
		}
		sql, args := rec.last()
		if len(args) > 0 {
			if _, ok := args[0].(pgx.QueryExecMode); ok {
				args = args[1:]
			}
		}
		plan, err := explainPlan(ctx, conn, sql, args)
		if err != nil {
			t.Fatalf("%s: %v", sh.name, err)
		}
		fmt.Fprintf(&out, "#### Search %s: `%s` (tsquery `%v`)\n\n```\n%s```\n\n", sh.name, sh.query, args[0], plan)
	}
	for _, sel := range searchSelectivities {
		plan, err := explainPlan(ctx, conn, ilike1SQL, []any{"%" + sel.terms[0] + "%"})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "#### ILIKE scan, %s, one word: `%s`\n\n```\n%s```\n\n", sel.name, sel.terms[0], plan)
	}

	out.WriteString("#### Sizes\n\n| object | size | per million messages |\n|---|---|---|\n")
	var msgs int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&msgs); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT o, b FROM (VALUES
		('messages heap (search_vector included)', pg_relation_size('messages') + coalesce(pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'messages'::regclass)), 0)),
		('messages.search_vector (sum of pg_column_size)', (SELECT sum(pg_column_size(search_vector)) FROM messages)::bigint),
		('messages.content (sum of pg_column_size)', (SELECT sum(pg_column_size(content)) FROM messages)::bigint),
		('messages_search_vector_idx (GIN)', pg_relation_size('messages_search_vector_idx')),
		('messages_created_at_id_idx (btree)', pg_relation_size('messages_created_at_id_idx')),
		('conversations_title_search_idx (GIN)', pg_relation_size('conversations_title_search_idx'))) AS v(o, b)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o string
		var b int64
		if err := rows.Scan(&o, &b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "| %s | %.1f MiB | %.1f MiB |\n", o, float64(b)/(1<<20), float64(b)/(1<<20)*1e6/float64(msgs))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	out.WriteString("\n#### Upgrade: the search migration on the full table, statement by statement\n\n| statement | ms |\n|---|---|\n")
	rows, err = conn.Query(ctx, "SELECT stmt, ms FROM bench_upgrade ORDER BY ord")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var stmt string
		var ms float64
		if err := rows.Scan(&stmt, &ms); err != nil {
			t.Fatal(err)
		}
		first := strings.TrimSpace(stmt)
		for _, line := range strings.Split(first, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				first = l
				break
			}
		}
		fmt.Fprintf(&out, "| `%s` | %.0f |\n", strings.ReplaceAll(truncateRunes(first, 90), "|", `\|`), ms)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if *searchOut == "" {
		t.Log("\n" + out.String())
		return
	}
	if err := os.WriteFile(*searchOut, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
