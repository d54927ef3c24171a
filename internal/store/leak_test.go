//go:build integration

package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestCloseLeavesNoGoroutines: a store that has served concurrent calls
// (so its pool holds several connections) leaves no goroutine behind once
// closed. The check is shown to be live: before Close, the pool's
// goroutines are found. Not parallel, so no other test's goroutines run
// meanwhile; TestMain (pgtest.MainLeakChecked) checks the whole package
// again at the end.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	url := pgtest.Migrated(t)
	baseline := goleak.IgnoreCurrent()
	ctx := context.Background()
	s, err := store.NewStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateConversation(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AddMessage(ctx, id, "user", fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
			if _, err := s.ListConversations(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if st := s.DB().Stats(); st.OpenConnections < 2 {
		t.Logf("only %d pooled connections", st.OpenConnections)
	}
	if err := goleak.Find(baseline); err == nil {
		t.Fatal("an open store shows no goroutines: the leak check cannot see the pool")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goleak.VerifyNone(t, baseline)
}
