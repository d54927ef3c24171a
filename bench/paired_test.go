//go:build bench

package bench

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/bench/benchdata"
)

var (
	pairedOut = flag.String("paired", "", "write TestPairedRatios' table to this file (default: the test log)")
	pairedRun = flag.String("paired-run", "", "run only TestPairedRatios' comparisons whose name matches this regexp")
)

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

// timedCase is a pairedCase whose calls time themselves (the streaming
// cases time the client's first to last byte, not the set-up), with its
// own number of rounds when they are slow (0: the default).
type timedCase struct {
	name, ref, target string
	k, rounds         int
	ops               func(t *testing.T) (ref, st timedCall)
}

// timedCall makes one call and says how long the part that counts took.
type timedCall func(context.Context) (time.Duration, error)

// whole times op from its start to its return.
func whole(op func(context.Context) error) timedCall {
	return func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		err := op(ctx)
		return time.Since(start), err
	}
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
	branched := func(t *testing.T) (func(context.Context) error, func(context.Context) error) {
		o := open(t, implStore, readDB(t, schemaMigrated, spec100k))
		read := func(id string) func(context.Context) error {
			return func(ctx context.Context) error {
				c, err := o.GetConversation(ctx, id)
				if err == nil && len(c.Messages) != 10_000 {
					err = fmt.Errorf("%d messages, want 10000", len(c.Messages))
				}
				return err
			}
		}
		return read(benchdata.ThreadID(10_000)), read(benchdata.BranchedThreadID(10_000))
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
		{"GetConversation: path of 10 000 through 100 branch points ÷ chain of 10 000", "store, chain", "≤ 1.2", 1, branched},
		{"ListConversations at 100k ÷ at 10k conversations", "store at 10k", "≤ 1.3", 20, list},
		{"ListConversationsPage page 900 ÷ page 0 (100k)", "store, page 0", "≤ 1.3", 20, pages},
	}
	timed := make([]timedCase, 0, len(cases)+2)
	for _, c := range cases {
		timed = append(timed, timedCase{c.name, c.ref, c.target, c.k, 0, func(t *testing.T) (timedCall, timedCall) {
			ref, st := c.ops(t)
			return whole(ref), whole(st)
		}})
	}
	timed = append(timed,
		timedCase{"Chat SSE, first to last byte, stub at 200 tokens/s (200 tokens): persistence on ÷ off", "persistence off",
			"≤ 1.05", 1, 11, chatSides(paceRate, paceTokens)},
		timedCase{"Chat SSE, first to last byte, stub as fast as possible (5k tokens; 2 calls a side a round): persistence on ÷ off", "persistence off",
			"≤ 1.05", 2, 41, chatSides(0, fastTokens)},
	)
	var out strings.Builder
	out.WriteString("| comparison (store ÷ reference) | reference | target | median ratio | middle half of the rounds | rounds |\n|---|---|---|---|---|---|\n")
	only, err := regexp.Compile(*pairedRun)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range timed {
		if !only.MatchString(c.name) {
			continue
		}
		var ops [2]timedCall
		ops[0], ops[1] = c.ops(t)
		for _, op := range ops {
			if _, err := timeCalls(op, c.k); err != nil { // warm up
				t.Fatal(err)
			}
		}
		n := cmp.Or(c.rounds, rounds)
		ratios := make([]float64, 0, n)
		for r := range n {
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
		fmt.Fprintf(&out, "| %s | %s | %s | %.2f | %.2f – %.2f | %d |\n", c.name, c.ref, c.target,
			ratios[n/2], ratios[n/4], ratios[3*n/4], n)
	}
	if *pairedOut == "" {
		t.Log("\n" + out.String())
		return
	}
	if err := os.WriteFile(*pairedOut, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func timeCalls(op timedCall, k int) (time.Duration, error) {
	ctx := context.Background()
	var total time.Duration
	for range k {
		d, err := op(ctx)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
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

// chatSides are one chat's SSE stream from an advisor without mid-stream
// flushes (the reference) and from one with them, each timed from the
// stream's first byte to the end of its done event.
func chatSides(rate float64, tokens int) func(t *testing.T) (timedCall, timedCall) {
	return func(t *testing.T) (timedCall, timedCall) {
		var ops [2]timedCall
		for i, persist := range []bool{false, true} {
			c := newChatServer(t, rate, tokens, persist, 1)
			ops[i] = func(ctx context.Context) (time.Duration, error) {
				s, err := c.chat(ctx)
				return s.firstToLast(), err
			}
		}
		return ops[0], ops[1]
	}
}
