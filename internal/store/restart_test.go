//go:build integration

package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
)

// TestRestartUnderLoad: writers append without pause while the server is
// shut down (fast) and started again. No committed append is lost, no
// failed one is stored (or, where the error cannot tell, stored at most
// once), seq stays gapless with exact counts, and the same Store — never
// reopened — serves again by itself.
func TestRestartUnderLoad(t *testing.T) {
	t.Parallel()
	cluster, s := newClusterStore(t)
	ctx := context.Background()
	const convs, writers = 3, 6
	var ids []string
	for range convs {
		ids = append(ids, mustCreate(t, s, "m"))
	}
	l := newLedger()

	var restarted atomic.Bool
	var warm, recovered sync.WaitGroup // each writer: 10 successes before, 5 begun after the restart
	warm.Add(writers)
	recovered.Add(writers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before, after := 0, 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				late := restarted.Load()
				err := l.add(ctx, s, ids[w%convs], fmt.Sprintf("w%d-%d", w, i))
				switch {
				case err != nil:
				case !late:
					if before++; before == 10 {
						warm.Done()
					}
				default:
					if after++; after == 5 {
						recovered.Done()
					}
				}
			}
		}()
	}
	waitFor(t, "10 appends per writer before the restart", wgDone(&warm))

	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cluster.Stop(sctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pgfault.Restart(sctx, cluster); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	restarted.Store(true)
	took := eventually(t, "the same Store serves after the restart", func() error {
		_, err := s.ListConversations(ctx)
		return err
	})
	t.Logf("store served again %s after the server was back", took.Round(time.Millisecond))
	waitFor(t, "5 appends per writer after the restart", wgDone(&recovered))
	close(stop)
	wg.Wait()
	l.verify(t, s.DB())
}

// wgDone turns a WaitGroup into a channel for select.
func wgDone(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}
