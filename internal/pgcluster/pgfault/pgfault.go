// Package pgfault injects faults into a pgcluster.Cluster, for tests that
// check what a client does when the server hangs, crashes or restarts.
// Only tests import it: the advisor binary needs clusters that start and
// stop (package pgcluster), never ones that fail on purpose, and a test of
// this package proves that cmd/advisor does not depend on it.
package pgfault

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/pgcluster/internal/control"
	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
)

// Freeze simulates a hung server: it stops (SIGSTOP) the postmaster and all
// its children and waits until each is stopped. The kernel still accepts TCP
// connections into the listen backlog, but nothing answers them, nor any
// query on an open connection. Thaw undoes it; Close and Kill work on a
// frozen cluster too.
func Freeze(c *pgcluster.Cluster) error {
	pids, err := control.Of(c).Signal(syscall.SIGSTOP)
	switch {
	case err != nil:
		return fmt.Errorf("pgfault: Freeze: %w", err)
	case len(pids) == 0:
		return errors.New("pgfault: Freeze: the server is not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := proc.WaitStopped(ctx, pids); err != nil {
		return fmt.Errorf("pgfault: Freeze: %w", err)
	}
	return nil
}

// Thaw resumes (SIGCONT) a server that Freeze stopped. Thawing a server
// that is not frozen, or not running, is harmless.
func Thaw(c *pgcluster.Cluster) error {
	if _, err := control.Of(c).Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("pgfault: Thaw: %w", err)
	}
	return nil
}

// Kill simulates a crash: SIGKILL to the postmaster and all its children,
// then it waits until they are gone, so that Restart runs crash recovery.
func Kill(c *pgcluster.Cluster) error {
	return control.Of(c).Kill()
}

// Restart starts the server again on the same port and data, stopping it
// first (pg_ctl stop -m fast) if it runs, so a client's URL stays valid.
func Restart(ctx context.Context, c *pgcluster.Cluster) error {
	return control.Of(c).Restart(ctx)
}
