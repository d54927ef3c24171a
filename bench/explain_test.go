//go:build bench

package bench

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/store"
)

var explainOut = flag.String("explain", "", "write TestExplain's plans to this file (default: the test log)")

// recorder is a pgx.QueryTracer that keeps the last statement and its
// arguments, so EXPLAIN runs exactly what an implementation sent.
type recorder struct {
	mu   sync.Mutex
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql, r.args = d.SQL, d.Args
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) last() (string, []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sql, r.args
}

var explainOnce sync.Once

// TestExplain records the list, deep-page and get statements each
// implementation sends on the 1M-message data set and prints their
// EXPLAIN (ANALYZE, BUFFERS) plans, for docs/performance.md. It runs once
// per process whatever -count says.
func TestExplain(t *testing.T) {
	explainOnce.Do(func() { explain(t) })
}

func explain(t *testing.T) {
	ctx := context.Background()
	var out strings.Builder
	type step struct {
		name string
		run  func(ctx context.Context) error
	}
	for _, im := range []impl{implStore, implBaseline, implBaselineIndexed} {
		dsn := readDB(t, im.schema, spec100k)
		rec := &recorder{}
		var steps []step
		if im == implStore {
			s, err := store.NewStore(ctx, dsn, store.WithConnConfig(func(c *pgx.ConnConfig) { c.Tracer = rec }))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cur := cursorAt(t, s, deepPage)
			steps = []step{
				{"ListConversations", func(ctx context.Context) error { _, err := s.ListConversations(ctx); return err }},
				{fmt.Sprintf("ListConversationsPage, page %d", deepPage), func(ctx context.Context) error {
					_, err := s.ListConversationsPage(ctx, cur, store.MaxPageSize)
					return err
				}},
				{"GetConversation, 100 messages", func(ctx context.Context) error {
					_, err := s.GetConversation(ctx, benchdata.ThreadID(100))
					return err
				}},
				{"GetConversation, a path of 10 000 messages through 100 branch points", func(ctx context.Context) error {
					_, err := s.GetConversation(ctx, benchdata.BranchedThreadID(10_000))
					return err
				}},
			}
		} else {
			s, err := baseline.New(ctx, dsn, 1, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec })
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			steps = []step{
				{"GetConversation, 100 messages", func(ctx context.Context) error {
					_, err := s.GetConversation(ctx, benchdata.ThreadID(100))
					return err
				}},
			}
			if im == implBaseline {
				steps = append([]step{
					{"ListConversations", func(ctx context.Context) error { _, err := s.ListConversations(ctx); return err }},
					{fmt.Sprintf("ListConversationsOffset, page %d", deepPage), func(ctx context.Context) error {
						_, err := s.ListConversationsOffset(ctx, store.MaxPageSize, deepPage*store.MaxPageSize)
						return err
					}},
				}, steps...)
			}
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, st := range steps {
			if err := st.run(ctx); err != nil {
				t.Fatal(err)
			}
			sql, args := rec.last()
			plan, err := explainPlan(ctx, conn, sql, args)
			if err != nil {
				t.Fatalf("%s %s: %v", im.name, st.name, err)
			}
			fmt.Fprintf(&out, "### %s: %s\n\n```sql\n%s\n```\n\n```\n%s```\n\n", im.name, st.name, strings.TrimSpace(sql), plan)
		}
	}
	for _, im := range both {
		sql, args := recordAddMessage(t, im)
		plan, err := explainWrite(ctx, t, writeDB(t, im.schema), sql, args)
		if err != nil {
			t.Fatalf("%s AddMessage: %v", im.name, err)
		}
		fmt.Fprintf(&out, "### %s: AddMessage (rolled back)\n\n```sql\n%s\n```\n\n```\n%s```\n\n", im.name, strings.TrimSpace(sql), plan)
	}
	if *explainOut == "" {
		t.Log("\n" + out.String())
		return
	}
	if err := os.WriteFile(*explainOut, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// explainPlan runs the statement under EXPLAIN (ANALYZE, BUFFERS) twice and
// returns the second plan, so it shows a warm cache like the benchmarks do.
func explainPlan(ctx context.Context, conn *pgx.Conn, sql string, args []any) (string, error) {
	var plan strings.Builder
	for range 2 {
		plan.Reset()
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			plan.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			return "", err
		}
	}
	return plan.String(), nil
}

// recordAddMessage appends a message with im on the write database and
// returns the statement it sent.
func recordAddMessage(t *testing.T, im impl) (string, []any) {
	ctx := context.Background()
	rec := &recorder{}
	var r repo
	if im == implStore {
		s, err := store.NewStore(ctx, writeDB(t, im.schema), store.WithConnConfig(func(c *pgx.ConnConfig) { c.Tracer = rec }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r = s
	} else {
		s, err := baseline.New(ctx, writeDB(t, im.schema), 1, func(c *pgxpool.Config) { c.ConnConfig.Tracer = rec })
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r = s
	}
	conv, err := r.CreateConversation(ctx, "explain")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddMessage(ctx, conv, "user", content); err != nil {
		t.Fatal(err)
	}
	return rec.last()
}

// explainWrite runs a write under EXPLAIN (ANALYZE, BUFFERS, WAL) in a
// transaction it rolls back, five times, and returns the plan of the run
// with the median execution time.
func explainWrite(ctx context.Context, t *testing.T, dsn, sql string, args []any) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	type run struct {
		plan string
		ms   float64
	}
	var runs []run
	for range 5 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return "", err
		}
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, WAL) "+sql, args...)
		if err != nil {
			return "", err
		}
		var r run
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			r.plan += line + "\n"
			if v, ok := strings.CutPrefix(line, "Execution Time: "); ok {
				fmt.Sscanf(v, "%f", &r.ms)
			}
		}
		if err := rows.Err(); err != nil {
			return "", err
		}
		if err := tx.Rollback(ctx); err != nil {
			return "", err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.ms, b.ms) })
	return runs[len(runs)/2].plan, nil
}
