//go:build integration

package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestBouncer: a Bouncer in front of a temp cluster serves any database of
// the server (the wildcard entry) to a role that only the server knows
// (auth_query), in transaction mode: two transactions of one client may
// run on different server connections, so one client's session state is
// not kept. A database PgBouncer has used cannot be dropped until KillDB
// makes it let go of its idle server connections. Close stops the process
// and removes its directory; Start removes the directories a dead owner
// left; no log line holds a password.
func TestBouncer(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	rec := &logRecorder{t: t}
	c := startTemp(t, rec)
	// What a killed test binary leaves behind: its owner is dead.
	orphan, err := os.MkdirTemp("/tmp", "hwlab-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newLayout(orphan).owner, []byte("999999999 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := StartBouncer(ctx, BouncerOptions{Host: "127.0.0.1", Port: c.Port(), AuthUser: "postgres", AuthPassword: c.Password(), Logf: rec.logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the directory of a dead owner's PgBouncer is still there: %v", err)
		_ = os.RemoveAll(orphan)
	}
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	const role, rolePW = "bouncer_client", "client-pw-1"
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN PASSWORD '` + rolePW + `'`,
		`CREATE DATABASE bouncer_db OWNER ` + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pooled := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/bouncer_db?sslmode=disable&default_query_exec_mode=exec", role, rolePW, b.Port())
	conn, err := pgx.Connect(ctx, pooled)
	if err != nil {
		t.Fatalf("connect through pgbouncer: %v", err)
	}
	// A second client holds a transaction open, so the first client's
	// next transaction cannot have the server connection it had.
	var before, after int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, pooled)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var held int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if held != before || after == before {
		t.Errorf("server connections: first client %d then %d, the other's transaction %d: want the other to take the first one's, as transaction pooling does", before, after, held)
	}
	_ = tx.Rollback(ctx)
	_ = other.Close(ctx)
	_ = conn.Close(ctx)

	var pgErr *pgconn.PgError
	if _, err := admin.Exec(ctx, `DROP DATABASE bouncer_db`); !errors.As(err, &pgErr) || pgErr.Code != "55006" {
		t.Errorf("DROP DATABASE while PgBouncer holds server connections: %v, want 55006 (in use)", err)
	}
	if err := b.KillDB(ctx, "bouncer_db"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `DROP DATABASE bouncer_db`); err != nil {
		t.Errorf("DROP DATABASE after KillDB: %v", err)
	}
	if err := b.KillDB(ctx, "never_used"); err != nil {
		t.Errorf("KillDB of a database PgBouncer never saw: %v", err)
	}
	if _, err := admin.Exec(ctx, `DROP ROLE `+role); err != nil {
		t.Error(err)
	}
	dir := b.Dir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v", dir, err)
	}
	if _, err := pgx.Connect(ctx, pooled); err == nil {
		t.Errorf("PgBouncer still answers after Close")
	}
	rec.assertNoSecret(c.Password())
	rec.assertNoSecret(rolePW)
}
