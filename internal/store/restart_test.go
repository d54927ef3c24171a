//go:build integration

package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
)

// TestRestartUnderLoad: writers append without pause (startLoad) while the
// server is shut down (fast) and started again. No committed append is lost, no
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
	ld := startLoad(ctx, s, l, ids, writers, 10, 5)
	waitFor(t, "10 appends per writer before the restart", wgDone(&ld.warm))

	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cluster.Stop(sctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pgfault.Restart(sctx, cluster); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	ld.fault()
	took := eventually(t, "the same Store serves after the restart", func() error {
		_, err := s.ListConversations(ctx)
		return err
	})
	t.Logf("store served again %s after the server was back", took.Round(time.Millisecond))
	waitFor(t, "5 appends per writer after the restart", wgDone(&ld.recovered))
	ld.finish()
	l.verify(t, s.DB())
}

// wgDone turns a WaitGroup into a channel for select.
func wgDone(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}
