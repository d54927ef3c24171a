//go:build integration

package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// Helpers for the fault tests: a store on a private cluster, and a ledger
// of append attempts checked against what the database holds afterwards.

// newClusterStore starts a private cluster (the test may stop, restart or
// freeze it without disturbing other tests), migrates its postgres database
// and opens a store on it. The store is closed before the cluster.
func newClusterStore(t *testing.T, opts ...store.Option) (*pgcluster.Cluster, *store.Store) {
	t.Helper()
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.NewStore(ctx, c.URL("postgres"), opts...)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := store.RunMigrations(ctx, s.DB()); err != nil {
		t.Fatalf("RunMigrations: %v", err)
	}
	return c, s
}

// outcome is what a finished AddMessage may have left in the database.
type outcome int

const (
	committed  outcome = iota // it returned nil: the row must be there, once
	notApplied                // the error proves nothing was committed: no row
	ambiguous                 // the error cannot tell: no row or one row
)

func (o outcome) String() string {
	return [...]string{"committed", "not applied", "ambiguous"}[o]
}

// classify decides from AddMessage's error whether the append can have
// committed. Only these errors prove that it did not:
//   - driver.ErrBadConn: pgx reports it only when nothing was sent on the
//     connection (pgconn.SafeToRetry), and database/sql then retried on
//     other connections, which failed the same way;
//   - *pgconn.ConnectError: no session was established, so no statement ran;
//   - a *pgconn.PgError of severity ERROR: the server answered that the
//     statement failed, and its implicit transaction was rolled back;
//   - the store's own sentinels, raised before any statement is sent.
//
// Every other error is ambiguous: the connection was lost, or the server
// sent FATAL (fast shutdown, pg_terminate_backend, both 57P01), or the
// context ended, after the statement was sent. The commit may have happened
// before the reply was lost, so the row may or may not be there, but never
// twice, because database/sql retries only after ErrBadConn.
func classify(err error) outcome {
	if err == nil {
		return committed
	}
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &connErr),
		errors.As(err, &pgErr) && pgErr.Severity == "ERROR",
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidRole), errors.Is(err, store.ErrInvalidContent):
		return notApplied
	}
	return ambiguous
}

// ledger records every append attempt by its content, which is unique per
// attempt: message ids are assigned by the server, so an attempt whose
// reply was lost has no id to look for, but its content can be found.
type ledger struct {
	mu       sync.Mutex
	attempts map[string]error // content → AddMessage's error
	convOf   map[string]string
}

func newLedger() *ledger {
	return &ledger{attempts: map[string]error{}, convOf: map[string]string{}}
}

func (l *ledger) add(ctx context.Context, s *store.Store, convID, content string) error {
	_, err := s.AddMessage(ctx, convID, store.RoleUser, content)
	return l.record(convID, content, err)
}

// appendMessage is add through AppendMessage, the other way in.
func (l *ledger) appendMessage(ctx context.Context, s *store.Store, convID, content string) error {
	_, err := s.AppendMessage(ctx, convID, store.RoleUser, content)
	return l.record(convID, content, err)
}

// record notes one attempt and returns its error.
func (l *ledger) record(convID, content string, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.attempts[content]; dup {
		panic("ledger: content reused: " + content)
	}
	l.attempts[content], l.convOf[content] = err, convID
	return err
}

// tally is what verify found: attempts by outcome, the committed ones
// missing from the database, and the ambiguous ones present.
type tally struct {
	outcomes         map[outcome]int
	lost             int
	ambiguousPresent int
}

// verify checks the database against the ledger: every committed append is
// there exactly once, every unapplied one is absent, every ambiguous one is
// there at most once, the database holds no message the ledger does not
// know, and each conversation's seq is gapless with a matching count.
func (l *ledger) verify(t *testing.T, db *sql.DB) tally {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	found := map[string]int{}
	perConv := map[string]int{}
	rows, err := db.Query(`SELECT conversation_id::text, content FROM messages`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var conv, content string
		if err := rows.Scan(&conv, &content); err != nil {
			t.Fatal(err)
		}
		found[content]++
		perConv[conv]++
		if want, ok := l.convOf[content]; !ok || want != conv {
			t.Errorf("message %.60q in conversation %s was never sent there", content, conv)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	res := tally{outcomes: map[outcome]int{}}
	for content, err := range l.attempts {
		o, n := classify(err), found[content]
		res.outcomes[o]++
		switch {
		case o == committed && n != 1:
			if n == 0 {
				res.lost++
			}
			t.Errorf("committed append %q found %d times", content, n)
		case o == notApplied && n != 0:
			t.Errorf("append %q failed (%v) but was stored %d times", content, err, n)
		case o == ambiguous && n > 1:
			t.Errorf("ambiguous append %q (%v) stored %d times", content, err, n)
		case o == ambiguous && n == 1:
			res.ambiguousPresent++
		}
	}
	t.Logf("attempts: %d committed (%d of them lost), %d not applied, %d ambiguous (%d of them stored)",
		res.outcomes[committed], res.lost, res.outcomes[notApplied], res.outcomes[ambiguous], res.ambiguousPresent)
	convs := map[string]bool{}
	for _, c := range l.convOf {
		convs[c] = true
	}
	for c := range convs {
		assertSeqAndCount(t, db, c, perConv[c])
	}
	return res
}

// eventually retries op until it succeeds or the generous deadline passes,
// and returns how long it took. It is for "the store recovers by itself",
// not a timing assertion: the deadline only keeps a broken store from
// hanging the test.
func eventually(t *testing.T, what string, op func() error) time.Duration {
	t.Helper()
	const deadline = 30 * time.Second
	start := time.Now()
	var err error
	for time.Since(start) < deadline {
		if err = op(); err == nil {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond) // a retry interval, not synchronisation
	}
	t.Fatalf("%s: still failing after %s: %v", what, deadline, err)
	return 0
}

// waitFor waits until done is closed, or fails the test after a generous
// deadline so that a wedged store cannot hang the run.
func waitFor(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: not reached within 60s", what)
	}
}

// writeLoad is the fault tests' load: writers that append through a
// ledger until finished, writer w to ids[w%len(ids)], the odd ones through
// AppendMessage and the even ones through AddMessage. Each counts the
// appends acknowledged before the test marks the fault (faulted), and
// those begun after it.
type writeLoad struct {
	faulted    atomic.Bool
	firstAfter atomic.Int64 // UnixNano of the first acknowledged append begun after the fault
	warm       sync.WaitGroup
	recovered  sync.WaitGroup
	stop       chan struct{}
	wg         sync.WaitGroup
}

// startLoad starts the writers. ld.warm is done once each has had before
// appends acknowledged, ld.recovered once each has had after more begun
// after the fault. Only retries after an error are paced.
func startLoad(ctx context.Context, s *store.Store, l *ledger, ids []string, writers, before, after int) *writeLoad {
	ld := &writeLoad{stop: make(chan struct{})}
	ld.warm.Add(writers)
	ld.recovered.Add(writers)
	for w := range writers {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			write := l.add
			if w%2 == 1 {
				write = l.appendMessage
			}
			early, late := 0, 0
			for i := 0; ; i++ {
				select {
				case <-ld.stop:
					return
				default:
				}
				faulted := ld.faulted.Load()
				err := write(ctx, s, ids[w%len(ids)], fmt.Sprintf("w%d-%d", w, i))
				switch {
				case err != nil:
					// While no server takes writes, pace the retries,
					// which only connect and fail, so that they leave the
					// server coming back some CPU.
					time.Sleep(5 * time.Millisecond)
				case !faulted:
					if early++; early == before {
						ld.warm.Done()
					}
				default:
					ld.firstAfter.CompareAndSwap(0, time.Now().UnixNano())
					if late++; late == after {
						ld.recovered.Done()
					}
				}
			}
		}()
	}
	return ld
}

// fault marks the fault: appends begun from now on count as after it.
func (ld *writeLoad) fault() { ld.faulted.Store(true) }

// first is when the first append begun after the fault was acknowledged.
func (ld *writeLoad) first() time.Time { return time.Unix(0, ld.firstAfter.Load()) }

// finish stops the writers and waits for them.
func (ld *writeLoad) finish() {
	close(ld.stop)
	ld.wg.Wait()
}
