//go:build integration

package store_test

import (
	"context"
	"sync"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// migrationFiles is how many files the embedded directory holds, so adding a
// migration needs no edit here.
func migrationFiles(t testing.TB) int { return len(pgtest.MigrationFiles(t)) }

// TestRunMigrationsConcurrently: four callers at once on an empty database
// all succeed, and each file is applied exactly once (the advisory lock
// serialises them; the later ones find nothing pending).
func TestRunMigrationsConcurrently(t *testing.T) {
	t.Parallel()
	s := newEmptyStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.RunMigrations(context.Background(), s.DB())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("RunMigrations #%d: %v", i, err)
		}
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions WHERE type = 2 AND applied = total AND coalesce(error, '') = ''`); n != migrationFiles(t) {
		t.Errorf("%d completed revision rows, want %d", n, migrationFiles(t))
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions`); n != migrationFiles(t) {
		t.Errorf("%d revision rows, want %d", n, migrationFiles(t))
	}
	// The store works on the result.
	id := mustCreate(t, s, "m")
	mustAdd(t, s, id, "user", "hi")
	assertSeqAndCount(t, s.DB(), id, 1)
}
