//go:build bench

package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Write benchmarks run on an empty schema shared by the process; every run
// starts its own conversations.

func BenchmarkCreateConversation(b *testing.B) {
	for _, im := range both {
		b.Run("impl="+im.name, func(b *testing.B) {
			o := open(b, im, writeDB(b, im.schema))
			measure(b, o, func(ctx context.Context) error {
				_, err := o.CreateConversation(ctx, "bench-model")
				return err
			})
		})
	}
}

func BenchmarkAddMessage(b *testing.B) {
	for _, im := range both {
		b.Run("impl="+im.name, func(b *testing.B) {
			o := open(b, im, writeDB(b, im.schema))
			conv, err := o.CreateConversation(context.Background(), "bench-model")
			if err != nil {
				b.Fatal(err)
			}
			added := 0
			measure(b, o, func(ctx context.Context) error {
				added++
				_, err := o.AddMessage(ctx, conv, roleOf(added), content)
				return err
			})
			checkThread(b, o, conv, added)
		})
	}
}

// BenchmarkAddMessageParallel appends from 16 goroutines, to 16 distinct
// conversations or all to one. ns/op is wall time per message, so its
// inverse is the throughput; msgs/s says the same directly.
func BenchmarkAddMessageParallel(b *testing.B) {
	const goroutines = 16
	for _, shared := range []bool{false, true} {
		convs := "distinct"
		if shared {
			convs = "shared"
		}
		for _, im := range both {
			b.Run(fmt.Sprintf("convs=%s/impl=%s", convs, im.name), func(b *testing.B) {
				o := open(b, im, writeDB(b, im.schema))
				ids := make([]string, goroutines)
				for g := range ids {
					if g > 0 && shared {
						ids[g] = ids[0]
						continue
					}
					id, err := o.CreateConversation(context.Background(), "bench-model")
					if err != nil {
						b.Fatal(err)
					}
					ids[g] = id
				}
				// Warm every connection of the pool untimed, then measure.
				var total atomic.Int64
				runParallel(b, goroutines, goroutines*2, ids, o, &total)
				b.ReportAllocs()
				o.queries.n.Store(0)
				pg := newPGCPU(b, o.dsn)
				b.ResetTimer()
				pg.start()
				start := time.Now()
				runParallel(b, goroutines, b.N, ids, o, &total)
				elapsed := time.Since(start)
				b.StopTimer()
				pg.stop()
				pg.report(b.N, "pg-cpu-µs/op")
				reportQueries(b, o)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
				if shared {
					checkThread(b, o, ids[0], int(total.Load()))
				}
			})
		}
	}
}

// runParallel makes n appends from the given number of goroutines;
// goroutine g appends to ids[g].
func runParallel(b *testing.B, goroutines, n int, ids []string, o opened, total *atomic.Int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			ctx := context.Background()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := o.AddMessage(ctx, ids[g], roleOf(int(i)), content); err != nil {
					errs <- err
					return
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func roleOf(i int) string {
	if i%2 == 1 {
		return "user"
	}
	return "assistant"
}

// checkThread proves, outside the timer, that the appends kept what the
// store promises: for the store, message_count and seq 1..n with no gap; for
// both, n messages.
func checkThread(b *testing.B, o opened, conv string, n int) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	c, err := o.GetConversation(context.Background(), conv)
	if err != nil {
		b.Fatal(err)
	}
	if len(c.Messages) != n {
		b.Fatalf("%d messages read back, %d appended", len(c.Messages), n)
	}
	if o.st == nil {
		return
	}
	var count, maxSeq, distinct int
	err = o.st.DB().QueryRowContext(context.Background(), `
SELECT c.message_count, coalesce(max(m.seq), 0), count(DISTINCT m.seq)
FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
WHERE c.id = $1 GROUP BY c.id`, conv).Scan(&count, &maxSeq, &distinct)
	if err != nil {
		b.Fatal(err)
	}
	if count != n || maxSeq != n || distinct != n {
		b.Fatalf("message_count %d, max(seq) %d, distinct seq %d; want all %d", count, maxSeq, distinct, n)
	}
}
