//go:build integration

package pgfault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestFreezeThaw: a frozen server answers nothing, not even a session that
// was open before; thawed, it serves new sessions. Freezing a stopped
// server is an error, thawing one is not.
func TestFreezeThaw(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t)
	conn, err := pgx.Connect(t.Context(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })

	if err := pgfault.Freeze(c); err != nil {
		t.Fatal(err)
	}
	// Nothing can answer while every process is stopped, so the deadline
	// is what ends the ping, however long it is.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := conn.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping a frozen server = %v, want context.DeadlineExceeded", err)
	}
	if err := pgfault.Thaw(c); err != nil {
		t.Fatal(err)
	}
	// The timed-out ping closed conn; a new session proves the thaw.
	conn2, err := pgx.Connect(t.Context(), c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect after Thaw: %v", err)
	}
	t.Cleanup(func() { _ = conn2.Close(context.Background()) })
	if err := conn2.Ping(t.Context()); err != nil {
		t.Errorf("ping after Thaw: %v", err)
	}

	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pgfault.Freeze(c); err == nil {
		t.Error("Freeze of a stopped server succeeded")
	}
	if err := pgfault.Thaw(c); err != nil {
		t.Errorf("Thaw of a stopped server: %v", err)
	}
}
