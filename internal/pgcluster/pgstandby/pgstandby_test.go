//go:build integration

package pgstandby_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/pgcluster/pgstandby"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestStandbyStreams: a standby of a running primary listens on a port of
// its own, takes the primary's password, refuses writes (25006), and sees
// a row committed on the primary after it started; Close removes it. A
// persistent Dir is refused.
func TestStandbyStreams(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	primary := pgtest.NewCluster(t)
	if _, err := pgstandby.Start(ctx, primary, pgcluster.Options{Dir: t.TempDir()}); err == nil {
		t.Error("a standby in a persistent Dir was started")
	}
	standby, err := pgstandby.Start(ctx, primary, pgcluster.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Close() })
	if standby.Port() == primary.Port() {
		t.Fatalf("the standby took the primary's port %d", primary.Port())
	}
	p, s := connect(t, primary.URL("postgres")), connect(t, standby.URL("postgres"))
	if _, err := p.Exec(ctx, `CREATE TABLE streamed AS SELECT 42 AS v`); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if _, err := s.Exec(ctx, `CREATE TABLE refused (v int)`); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Errorf("a write on the standby: %v, want 25006 (read-only transaction)", err)
	}
	// Polled: replay is asynchronous here; the deadline bounds a broken run.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var v int
		if err := s.QueryRow(ctx, `SELECT v FROM streamed`).Scan(&v); err == nil && v == 42 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the primary's row did not reach the standby within a minute")
		}
	}
	dir := standby.DataDir()
	s.Close(ctx)
	if err := standby.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the standby's data directory after Close: %v", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
