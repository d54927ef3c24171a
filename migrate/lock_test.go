//go:build integration

package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/migrate"
)

// cliLockKey is pg_try_advisory_lock's key for the CLI's lock name
// (fnv32 of "atlas_migrate_execute").
const cliLockKey = 2686470616

// pastDeadline is a context whose deadline has passed but which is not yet
// done: what a caller sees in the instant before the deadline's timer fires.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Second), true }

// TestLockWithExpiredDeadline: a context already past its deadline does
// not try for the lock with a negative wait ("waited -1s") but fails with
// the deadline.
func TestLockWithExpiredDeadline(t *testing.T) {
	t.Parallel()
	url := pgtest.Migrated(t)
	holder := pgtest.Open(t, url)
	conn, err := holder.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The lock is held, so an attempt would fail with ErrLocked at once.
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, cliLockKey); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Open(t, url)
	_, err = migrate.Apply(pastDeadline{context.Background()}, db, migrate.Options{LockTimeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "waited -") {
		t.Fatalf("err = %v, want the deadline", err)
	}
}

// TestBeforeApplyRunsUnderTheLock: BeforeApply runs while Apply holds the
// CLI's lock (another session cannot take it), before the revisions table
// exists; its error aborts Apply with nothing written.
func TestBeforeApplyRunsUnderTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Empty(t)
	db := pgtest.Open(t, url)
	other := pgtest.Open(t, url)
	refuse := errors.New("refused")
	calls := 0
	_, err := migrate.Apply(ctx, db, migrate.Options{BeforeApply: func(ctx context.Context) error {
		calls++
		var got bool
		if err := other.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, cliLockKey).Scan(&got); err != nil {
			t.Error(err)
		}
		if got {
			t.Error("BeforeApply ran without the lock held")
			other.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, cliLockKey)
		}
		var revs bool
		if err := other.QueryRowContext(ctx, `SELECT to_regclass('atlas_schema_revisions.atlas_schema_revisions') IS NOT NULL`).Scan(&revs); err != nil {
			t.Error(err)
		}
		if revs {
			t.Error("the revisions table exists before BeforeApply")
		}
		return refuse
	}})
	if !errors.Is(err, refuse) || calls != 1 {
		t.Fatalf("Apply = %v after %d calls, want BeforeApply's error after 1", err, calls)
	}
	var tables int
	if err := other.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%d tables after a refused apply, want none", tables)
	}
	// And when BeforeApply is content, Apply proceeds.
	if _, err := migrate.Apply(ctx, db, migrate.Options{BeforeApply: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
}
