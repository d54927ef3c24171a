package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/internal/control"
	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
)

func init() {
	control.Of = func(c any) control.Cluster { return controlled{c.(*Cluster)} }
}

// controlled is the Cluster that pgfault drives.
type controlled struct{ c *Cluster }

func (x controlled) Signal(sig syscall.Signal) ([]int, error) {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.signal(sig)
}

func (x controlled) Kill() error {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return x.c.kill()
}

func (x controlled) Restart(ctx context.Context) error {
	c := x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("pgcluster: Restart after Close")
	}
	if err := c.stop(ctx); err != nil {
		return redact(err, c.password)
	}
	return redact(c.startOn(ctx, c.port), c.password)
}

func (x controlled) Standby(ctx context.Context, opts any) (any, error) {
	o, ok := opts.(Options)
	if !ok {
		return nil, fmt.Errorf("pgcluster: Standby options are a %T, not Options", opts)
	}
	s, err := x.c.startStandby(ctx, o)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

// signal sends sig to the server's processes (proc.SignalTree) and returns
// their pids; none when it does not run.
func (c *Cluster) signal(sig syscall.Signal) ([]int, error) {
	pid, _, ok := c.runningServer()
	if !ok {
		return nil, nil
	}
	c.logf("pgcluster: sending %v to PostgreSQL pid %d and its children", sig, pid)
	return proc.SignalTree(pid, sig)
}

// kill SIGKILLs the postmaster and its children and waits until they are
// gone: Close's fallback when the server does not stop. The children must
// die too, or their attachment to the old shared memory keeps a restart
// from starting.
func (c *Cluster) kill() error {
	pids, err := c.signal(syscall.SIGKILL)
	if len(pids) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = errors.Join(err, proc.WaitGone(ctx, pids))
	}
	if err != nil {
		return fmt.Errorf("pgcluster: kill: %w", err)
	}
	c.running = false
	if len(pids) == 0 {
		return nil
	}
	// The lock files name the dead postmaster. postgres treats them as stale
	// only once kill(pid, 0) fails, which is not the case while the process
	// is an unreaped zombie (as under a container init that reaps lazily), so
	// remove them now that every process of the cluster is known dead.
	locks, _ := filepath.Glob(filepath.Join(c.l.base, ".s.PGSQL.*.lock"))
	for _, f := range append(locks, filepath.Join(c.l.data, "postmaster.pid")) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgcluster: kill: %w", err)
		}
	}
	return nil
}
