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
	"sync/atomic"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/bench/benchdata"
)

var pairedOut = flag.String("paired", "", "write TestPairedRatios' table to this file (default: the test log)")

var pairedOnce sync.Once

// TestPairedRatios measures the close comparisons in a way a busy machine
// cannot bias: rounds alternate between the two sides (k calls of one, k of
// the other, the order flipped every round), and the verdict is the median
// of the per-round ratios store ÷ reference. Load that drifts over seconds
// hits both halves of a round alike; benchstat's medians come from
// repetitions that run one side after the other, tens of seconds apart.
// It runs once per process whatever -count says.
func TestPairedRatios(t *testing.T) {
	pairedOnce.Do(func() { paired(t) })
}

type pairedCase struct {
	name, ref, target string
	k                 int // calls per side per round
	// ops returns the reference's call and the store's.
	ops func(t *testing.T) (ref, st func(context.Context) error)
}

// sides opens ref and the store on their databases (spec nil: the write
// database) and makes each one's call with op.
func sides(ref impl, spec *benchdata.Spec, op func(o opened, conv string) func(context.Context) error) func(t *testing.T) (func(context.Context) error, func(context.Context) error) {
	return func(t *testing.T) (func(context.Context) error, func(context.Context) error) {
		var ops [2]func(context.Context) error
		for i, im := range []impl{ref, implStore} {
			var dsn, conv string
			if spec == nil {
				dsn = writeDB(t, im.schema)
			} else {
				dsn = readDB(t, im.schema, *spec)
			}
			o := open(t, im, dsn)
			if spec == nil {
				var err error
				if conv, err = o.CreateConversation(context.Background(), "bench-model"); err != nil {
					t.Fatal(err)
				}
			}
			ops[i] = op(o, conv)
		}
		return ops[0], ops[1]
	}
}

func paired(t *testing.T) {
	const rounds = 31
	add := func(o opened, conv string) func(context.Context) error {
		i := 0
		return func(ctx context.Context) error {
			i++
			_, err := o.AddMessage(ctx, conv, roleOf(i), content)
			return err
		}
	}
	create := func(o opened, _ string) func(context.Context) error {
		return func(ctx context.Context) error { _, err := o.CreateConversation(ctx, "bench-model"); return err }
	}
	get := func(n int) func(o opened, _ string) func(context.Context) error {
		return func(o opened, _ string) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := o.GetConversation(ctx, benchdata.ThreadID(n))
				return err
			}
		}
	}
	list := func(t *testing.T) (func(context.Context) error, func(context.Context) error) {
		var ops [2]func(context.Context) error
		for i, spec := range []benchdata.Spec{spec10k, spec100k} {
			o := open(t, implStore, readDB(t, schemaMigrated, spec))
			ops[i] = func(ctx context.Context) error { _, err := o.ListConversations(ctx); return err }
		}
		return ops[0], ops[1]
	}
	pages := func(t *testing.T) (func(context.Context) error, func(context.Context) error) {
		var ops [2]func(context.Context) error
		for i, page := range []int{0, deepPage} {
			o := open(t, implStore, readDB(t, schemaMigrated, spec100k))
			cur := cursorAt(t, o.st, page)
			ops[i] = func(ctx context.Context) error {
				_, err := o.st.ListConversationsPage(ctx, cur, 100)
				return err
			}
		}
		return ops[0], ops[1]
	}
	cases := []pairedCase{
		{"CreateConversation", "baseline", "≤ 1.15", 20, sides(implBaseline, nil, create)},
		{"AddMessage", "baseline", "≤ 1.15", 20, sides(implBaseline, nil, add)},
		{"AddMessageParallel/convs=distinct: time for 320 appends from 16 goroutines", "baseline",
			"throughput ≥ 0.9, so time ≤ 1.11", 1, sides(implBaseline, nil, addParallel)},
		{"GetConversation/msgs=2", "baseline-idx", "≤ 1.5 against baseline", 20, sides(implBaselineIndexed, &spec100k, get(2))},
		{"GetConversation/msgs=100", "baseline-idx", "≤ 1.0 against baseline", 10, sides(implBaselineIndexed, &spec100k, get(100))},
		{"GetConversation/msgs=10000", "baseline-idx", "≤ 1.0 against baseline", 1, sides(implBaselineIndexed, &spec100k, get(10_000))},
		{"ListConversations at 100k ÷ at 10k conversations", "store at 10k", "≤ 1.3", 20, list},
		{"ListConversationsPage page 900 ÷ page 0 (100k)", "store, page 0", "≤ 1.3", 20, pages},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "| comparison (store ÷ reference) | reference | target | median ratio | middle half of the %d rounds |\n|---|---|---|---|---|\n", rounds)
	for _, c := range cases {
		ref, st := c.ops(t)
		ops := [2]func(context.Context) error{ref, st}
		for _, op := range ops {
			if _, err := timeCalls(op, c.k); err != nil { // warm up
				t.Fatal(err)
			}
		}
		ratios := make([]float64, 0, rounds)
		for r := range rounds {
			var d [2]time.Duration
			for _, i := range [][]int{{0, 1}, {1, 0}}[r%2] {
				var err error
				if d[i], err = timeCalls(ops[i], c.k); err != nil {
					t.Fatal(err)
				}
			}
			ratios = append(ratios, float64(d[1])/float64(d[0]))
		}
		slices.Sort(ratios)
		fmt.Fprintf(&out, "| %s | %s | %s | %.2f | %.2f – %.2f |\n", c.name, c.ref, c.target,
			ratios[rounds/2], ratios[rounds/4], ratios[3*rounds/4])
	}
	if *pairedOut == "" {
		t.Log("\n" + out.String())
		return
	}
	if err := os.WriteFile(*pairedOut, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func timeCalls(op func(context.Context) error, k int) (time.Duration, error) {
	ctx := context.Background()
	start := time.Now()
	for range k {
		if err := op(ctx); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// addParallel is one call of 320 appends from 16 goroutines, each to a
// conversation of its own.
func addParallel(o opened, _ string) func(context.Context) error {
	const goroutines, perCall = 16, 320
	ids := make([]string, goroutines)
	return func(ctx context.Context) error {
		if ids[0] == "" {
			for g := range ids {
				id, err := o.CreateConversation(ctx, "bench-model")
				if err != nil {
					return err
				}
				ids[g] = id
			}
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		for g := range goroutines {
			wg.Go(func() {
				for i := next.Add(1); i <= perCall; i = next.Add(1) {
					if _, err := o.AddMessage(ctx, ids[g], roleOf(int(i)), content); err != nil {
						failed.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, ok := failed.Load().(error); ok {
			return err
		}
		return nil
	}
}
