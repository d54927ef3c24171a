package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Freeze simulates a hung server: it stops (SIGSTOP) the postmaster and all
// its children and waits until each is stopped. The kernel still accepts TCP
// connections into the listen backlog, but nothing answers them, nor any
// query on an open connection. Thaw undoes it; Close and Kill work on a
// frozen cluster too.
func (c *Cluster) Freeze() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, _, ok := c.runningServer()
	if !ok {
		return errors.New("pgcluster: Freeze: the server is not running")
	}
	// The postmaster first, so that it cannot fork while we collect the
	// children.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pgcluster: Freeze: %w", err)
	}
	pids := append(children(pid), pid)
	for _, p := range pids {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("pgcluster: Freeze: %w", err)
		}
	}
	c.logf("pgcluster: froze PostgreSQL pid %d and %d children", pid, len(pids)-1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return waitState(ctx, pids, 'T')
}

// Thaw resumes (SIGCONT) a server that Freeze stopped. Thawing a server
// that is not frozen is harmless.
func (c *Cluster) Thaw() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, _, ok := c.runningServer()
	if !ok {
		return nil
	}
	var errs []error
	for _, p := range append(children(pid), pid) {
		if err := syscall.Kill(p, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("pgcluster: Thaw: %w", errors.Join(errs...))
	}
	return nil
}

// waitState waits until every live process of pids is in state (as in
// /proc/PID/stat; 'T' is stopped by a signal).
func waitState(ctx context.Context, pids []int, state byte) error {
	for {
		done := true
		for _, pid := range pids {
			if p, ok := readProc(pid); ok && p.state != 'Z' && p.state != state {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: waiting for state %c: %w", state, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
