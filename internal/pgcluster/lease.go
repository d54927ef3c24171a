package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
)

// A persistent cluster may be shared: two `advisor serve --dev-db`, or a CLI
// command beside one. Each user (each Cluster that Start returned) holds a
// lease, a file under leases/ that it keeps flock'd until Close. The kernel
// drops a flock when its process dies, however it dies (SIGKILL too), so a
// lease file that can be locked is stale and is removed. Start and Close
// decide under one cluster-wide flock (layout.lock): no lease appears while
// the last user out decides to stop the server, and two first Starts never
// both run initdb.
//
// Close stops the server only when no other lease is held and pgcluster
// started this very server (layout.started names its pid and start time):
// a server started by hand (pg_ctl start) is left as it was found.

// lockCluster takes the cluster-wide lock, waiting for another process's
// Start or Close to finish (pg_ctl's own timeouts bound that). The returned
// func releases it.
func lockCluster(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing drops the flock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("pgcluster: lock %s: %w", path, err)
		}
		// Polled rather than a blocking flock, so that ctx (Ctrl-C) can
		// end the wait.
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("pgcluster: waiting for another process starting or stopping the cluster (%s): %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// takeLease creates and locks a lease file of its own under dir. Its name
// starts with the pid, for whoever looks; uniqueness comes from CreateTemp,
// since one process may hold several leases (several Starts).
func takeLease(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	f, err := os.CreateTemp(dir, strconv.Itoa(os.Getpid())+"-*.lock")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lease: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		dropLease(f)
		return nil, fmt.Errorf("pgcluster: lease %s: %w", f.Name(), err)
	}
	return f, nil
}

// dropLease removes and unlocks a lease.
func dropLease(f *os.File) {
	_ = os.Remove(f.Name())
	_ = f.Close()
}

// otherLeases counts the leases under dir held by someone other than own,
// removing the stale ones on the way. The caller holds the cluster lock.
func otherLeases(dir string, own *os.File) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("pgcluster: %w", err)
	}
	live := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !strings.HasSuffix(e.Name(), ".lock") || (own != nil && path == own.Name()) {
			continue
		}
		held, err := leaseHeld(path)
		if err != nil {
			return 0, err
		}
		if held {
			live++
		}
	}
	return live, nil
}

// leaseHeld try-locks a lease file: lockable means its holder is gone, and
// the file is removed.
func leaseHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		_ = os.Remove(path)
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("pgcluster: lease %s: %w", path, err)
	}
}

// markStarted records that pgcluster started the server of pid, so that
// the last user out knows it may stop it.
func (c *Cluster) markStarted(pid int) error {
	p, _ := proc.Read(pid)
	if err := os.WriteFile(c.l.started, []byte(fmt.Sprintf("%d %s\n", pid, p.StartTime)), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// startedByUs reports whether the server of pid is the one markStarted
// recorded (the start time tells a reused pid apart).
func (c *Cluster) startedByUs(pid int) bool {
	b, err := os.ReadFile(c.l.started)
	if err != nil {
		return false
	}
	p, ok := proc.Read(pid)
	return ok && strings.TrimSpace(string(b)) == fmt.Sprintf("%d %s", pid, p.StartTime)
}
