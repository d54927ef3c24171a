//go:build integration

package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
	"git.georgsen.dk/hwlab/internal/pgcluster/pgstandby"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// standbyName is the standby's application_name (its cluster_name), which
// the primary's synchronous_standby_names lists.
const standbyName = "hwlab_standby"

// TestFailoverNothingLost: a primary with a synchronous streaming standby
// (pg_basebackup), and one Store on a URL listing both hosts with
// target_session_attrs=read-write. Four writers append without pause
// (AddMessage and AppendMessage); the primary is SIGKILLed and the standby
// promoted the way the README's HA section says (synchronous_standby_names
// reset first). Then every acknowledged append is on the new primary,
// checked by content, seq is gapless with exact message_count, and the
// same Store, never reopened, writes again.
func TestFailoverNothingLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary, standby := syncPair(t)
	dsn := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write",
		primary.Password(), primary.Port(), standby.Port())
	s, err := store.NewStore(ctx, dsn)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })

	const writers, convs = 4, 2
	var ids []string
	for range convs {
		ids = append(ids, mustCreate(t, s, "m"))
	}
	l := newLedger()
	ld := startLoad(ctx, s, l, ids, writers, 20, 5)
	waitFor(t, "20 acknowledged appends per writer before the kill", wgDone(&ld.warm))

	if err := pgfault.Kill(primary); err != nil {
		t.Fatalf("kill the primary: %v", err)
	}
	// Only after Kill returns: an append begun before may have been
	// acknowledged by the primary while it was being killed.
	ld.fault()
	promoteStart := time.Now()
	promote(t, standby)
	promoted := time.Now()
	waitFor(t, "5 acknowledged appends per writer after the promotion", wgDone(&ld.recovered))
	ld.finish()

	first := ld.first()
	if first.Before(promoteStart) {
		t.Errorf("an append was acknowledged %s before the promotion began, with no primary", promoteStart.Sub(first))
	}
	t.Logf("promotion took %s; the Store wrote again %s after the promotion request (%s after pg_promote returned)",
		promoted.Sub(promoteStart).Round(time.Millisecond), first.Sub(promoteStart).Round(time.Millisecond),
		first.Sub(promoted).Round(time.Millisecond))
	// The Store's own part, from a server that takes writes to a write,
	// is tens of milliseconds; 10 s (the bound for the whole) is
	// reached only by a Store that keeps dead connections or waits out its
	// timeout. The promotion itself is PostgreSQL's and only reported: on
	// a loaded machine it may take seconds.
	if again := first.Sub(promoted); again > 10*time.Second {
		t.Errorf("the Store wrote again %s after the promotion, want within 10s", again)
	}

	// Checked on the new primary itself, not through the Store's URL.
	db := pgtest.Open(t, standby.URL("postgres"))
	var inRecovery bool
	if err := db.QueryRow(`SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("the promoted standby: in recovery %v, %v", inRecovery, err)
	}
	res := l.verify(t, db)
	t.Logf("failover: %d acknowledged appends, %d lost", res.outcomes[committed], res.lost)
}

// syncPair starts a primary and a synchronous streaming standby of it
// whose database is migrated. synchronous_standby_names is set on the
// primary before the copy, so the standby inherits it, as any standby
// made by pg_basebackup does: promote must reset it.
func syncPair(t *testing.T) (primary, standby *pgcluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary = pgtest.NewCluster(t)
	db := pgtest.Open(t, primary.URL("postgres"))
	if err := store.RunMigrations(ctx, db); err != nil {
		t.Fatalf("RunMigrations: %v", err)
	}
	// synchronous_commit is on by default: a commit returns once the
	// standby has flushed its WAL. From here until the standby streams,
	// nothing commits on the primary.
	mustExec(t, db, `ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (`+standbyName+`)'`)
	mustExec(t, db, `SELECT pg_reload_conf()`)
	standby, err := pgstandby.Start(ctx, primary, pgcluster.Options{
		Logf: t.Logf,
		Settings: map[string]string{
			"cluster_name": standbyName, // its walreceiver's application_name
			// Once the primary is gone, a standby acts on a promote
			// request only when it next retries for WAL: 5 s by default.
			"wal_retrieve_retry_interval": "1s",
		},
	})
	if err != nil {
		t.Fatalf("start the standby: %v", err)
	}
	t.Cleanup(func() {
		if err := standby.Close(); err != nil {
			t.Errorf("closing the standby: %v", err)
		}
	})
	// Polled: nothing announces that the standby has connected; the
	// deadline only bounds a broken run.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var state string
		err := db.QueryRow(`SELECT sync_state FROM pg_stat_replication WHERE application_name = $1`, standbyName).Scan(&state)
		if err == nil && state == "sync" {
			return primary, standby
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby is not a synchronous one after a minute: %q, %v", state, err)
		}
	}
}

// promote makes the standby the primary, as the README's HA section says:
// first synchronous_standby_names goes (the copied setting names a standby
// the new primary does not have, so every commit would wait for it
// forever), then pg_promote, which waits until the server takes writes.
func promote(t *testing.T, standby *pgcluster.Cluster) {
	t.Helper()
	db := pgtest.Open(t, standby.URL("postgres"))
	mustExec(t, db, `ALTER SYSTEM RESET synchronous_standby_names`)
	mustExec(t, db, `SELECT pg_reload_conf()`)
	var ok bool
	if err := db.QueryRow(`SELECT pg_promote(wait => true, wait_seconds => 60)`).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_promote: %v, %v", ok, err)
	}
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
