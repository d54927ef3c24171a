//go:build bench

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/store"
)

var appendCostOut = flag.String("append-cost", "", "write TestAppendCost's table to this file (default: the test log)")

// appendStep is one rung of TestAppendCost's ladder: the schema with one
// more of the append's objects dropped than the rung before.
type appendStep struct {
	name string // what this rung drops
	drop []string
}

// appendLadder goes from the migrated schema down to the fewest objects
// the store's append still runs on (it writes parent_seq and active_seq,
// so the tree's columns stay). Each rung's database holds the rungs above
// it dropped too.
var appendLadder = []appendStep{
	{"the migrated schema", nil},
	{"− the vector's GIN index", []string{"DROP INDEX messages_search_vector_idx"}},
	{"− the generated vector", []string{"ALTER TABLE messages DROP COLUMN search_vector"}},
	{"− the (created_at, id) index", []string{"DROP INDEX messages_created_at_id_idx"}},
	{"− the parent foreign key", []string{"ALTER TABLE messages DROP CONSTRAINT messages_parent_fkey"}},
	{"− the two parent indexes", []string{"DROP INDEX messages_conversation_id_parent_seq_idx", "DROP INDEX messages_branch_starts_idx"}},
	// The last rung again, in a database of its own: the difference of two
	// identical rungs is the measure's noise, the yardstick for the others.
	{"the same again (A/A: the noise)", nil},
}

// TestAppendCost prices each object that AddMessage maintains: the store's
// AddMessage on one database per rung of appendLadder, all loaded alike
// (writeSpec), in rounds that visit every rung in a rotating order, so a
// drifting machine shifts every rung alike. Each rung's median time per
// append is reported with what its object costs (its median subtracted
// from the rung above's), once with the commit waiting for the WAL flush (what a
// client sees) and once with synchronous_commit off (the server's work
// alone, without the flush's jitter). It times, it asserts nothing: run
// it for docs/performance.md with
//
//	go test -tags bench -run '^TestAppendCost$' ./bench -args -append-cost bench/out/append-cost.md
func TestAppendCost(t *testing.T) {
	const rounds, perRound = 41, 40
	ctx := context.Background()
	var out strings.Builder
	for _, commit := range []string{"on", "off"} {
		adds := make([]func(context.Context) error, len(appendLadder))
		for i := range appendLadder {
			var drops []string
			for _, s := range appendLadder[:i+1] {
				drops = append(drops, s.drop...)
			}
			dsn := cachedDB(t, fmt.Sprintf("hwlab_bench_append_%d", i), func(context.Context, *pgx.Conn) (bool, error) { return false, nil },
				fillWrite(schemaMigrated, drops...))
			o := open(t, implStore, dsn, store.WithConnConfig(func(c *pgx.ConnConfig) {
				c.RuntimeParams["synchronous_commit"] = commit
			}))
			conv, err := o.CreateConversation(ctx, "bench-model")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			adds[i] = func(ctx context.Context) error {
				n++
				_, err := o.AddMessage(ctx, conv, roleOf(n), content)
				return err
			}
		}
		per := make([][]float64, len(adds)) // µs per append, per round
		for r := range rounds + 1 {
			for j := range adds {
				i := (j + r) % len(adds)
				start := time.Now()
				for range perRound {
					if err := adds[i](ctx); err != nil {
						t.Fatal(err)
					}
				}
				if r > 0 { // round 0 warms every pool and plan cache up
					per[i] = append(per[i], float64(time.Since(start).Microseconds())/perRound)
				}
			}
		}
		med := make([]float64, len(per))
		for i, p := range per {
			slices.Sort(p)
			med[i] = p[len(p)/2]
		}
		fmt.Fprintf(&out, "synchronous_commit %s (%d rounds of %d appends a rung):\n\n", commit, rounds, perRound)
		out.WriteString("| rung | median µs per append | what the rung's drop saves | ÷ the last rung |\n|---|---|---|---|\n")
		last := med[len(med)-1]
		for i, s := range appendLadder {
			cost := "—"
			if i > 0 {
				cost = fmt.Sprintf("%+.0f µs", med[i-1]-med[i])
			}
			fmt.Fprintf(&out, "| %s | %.0f | %s | %.2f |\n", s.name, med[i], cost, med[i]/last)
		}
		out.WriteString("\n")
	}
	if *appendCostOut == "" {
		t.Log("\n" + out.String())
		return
	}
	if err := os.WriteFile(*appendCostOut, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
