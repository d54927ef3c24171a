//go:build integration

package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestTerminatedConnections: pg_terminate_backend kills the store's
// connections again and again while writers append and readers list and
// read threads. Every call returns a success or an error (a panic would
// crash the test binary); the ledger holds (no committed append lost, no
// failed one stored, no duplicate); no row is partial; the pool is not
// wedged: the store serves afterwards and holds no connection in use.
//
// It runs on the shared server: terminating the backends of this test's own
// database (by datname) disturbs no other test, so no private cluster is
// needed. It is a fault test of the store's own connections, so it runs
// direct when the tests run through PgBouncer.
func TestTerminatedConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := store.NewStore(ctx, pgtest.Direct(t, pgtest.Migrated(t), "it terminates the store's backends"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var dbname string
	if err := s.DB().QueryRow(`SELECT current_database()`).Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	const convs, writers, readers, rounds = 2, 4, 2, 15
	var ids []string
	for range convs {
		ids = append(ids, mustCreate(t, s, "m"))
	}
	// Long content, so that a row cut short would show.
	pad := strings.Repeat("0123456789", 200)
	l := newLedger()
	progress := make(chan struct{}, 1024)
	signal := func() {
		select {
		case progress <- struct{}{}:
		default:
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var badReads atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if l.add(ctx, s, ids[w%convs], fmt.Sprintf("w%d-%d|%s", w, i, pad)) == nil {
					signal()
				}
			}
		}()
	}
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ListConversations(ctx); err == nil {
					signal()
				}
				c, err := s.GetConversation(ctx, ids[r%convs])
				if err != nil {
					continue
				}
				signal()
				for _, m := range c.Messages {
					if !strings.HasSuffix(m.Content, "|"+pad) {
						badReads.Add(1)
					}
				}
			}
		}()
	}
	killed := 0
	for range rounds {
		// Let some calls succeed between kills, so each round hits work
		// in flight on fresh connections.
		for range 3 {
			waitFor(t, "progress between kills", progress)
		}
		var n int
		err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, dbname).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		killed += n
	}
	close(stop)
	wg.Wait()
	t.Logf("terminated %d backends in %d rounds", killed, rounds)
	if killed == 0 {
		t.Fatal("no backend was terminated: the test proved nothing")
	}
	if n := badReads.Load(); n > 0 {
		t.Errorf("%d messages read back partial", n)
	}
	try := 0
	eventually(t, "the store serves after the kills", func() error {
		try++
		return l.add(ctx, s, ids[0], fmt.Sprintf("after-%d|%s", try, pad))
	})
	if st := s.DB().Stats(); st.InUse != 0 {
		t.Errorf("pool holds %d connections in use after every call returned", st.InUse)
	}
	l.verify(t, s.DB())
	var partial int
	if err := s.DB().QueryRow(`SELECT count(*) FROM messages WHERE content NOT LIKE '%|' || $1`, pad).Scan(&partial); err != nil {
		t.Fatal(err)
	}
	if partial != 0 {
		t.Errorf("%d partial rows stored", partial)
	}
}
