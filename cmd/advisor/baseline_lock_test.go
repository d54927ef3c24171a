//go:build integration

package main

import (
	"context"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestBaselineCheckedUnderTheLock: the --baseline check runs only once the
// migration lock is held, so a concurrent migrator cannot change the
// schema between the check and the baseline row. With the lock held by
// another session, apply gives up waiting for it without having checked.
func TestBaselineCheckedUnderTheLock(t *testing.T) {
	t.Parallel()
	url, _ := v1Database(t)
	conn, err := pgtest.Open(t, url).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock(2686470616)`); err != nil { // the CLI's lock
		t.Fatal(err)
	}
	r := runAdvisor(t, dbEnv(url), "migrate", "apply", "--baseline", versions(t)[0], "--dev-url", pgtest.Empty(t), "--lock-timeout", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "another migration holds the lock") {
		t.Fatalf("want a lock timeout: %+v", r)
	}
	if strings.Contains(r.all(), "checking that the live schema") {
		t.Errorf("the baseline was checked without the lock:\n%s", r.all())
	}
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(2686470616)`); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runAdvisor(t, dbEnv(url), "migrate", "apply", "--baseline", versions(t)[0], "--dev-url", pgtest.Empty(t)), "apply once the lock is free")
}
