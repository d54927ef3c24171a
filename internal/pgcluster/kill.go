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
)

// kill SIGKILLs the postmaster and its children. The postmaster is stopped
// (SIGSTOP) first so that it cannot fork while we collect its children; the
// children must die too, or their attachment to the old shared memory keeps
// a restart from starting.
func (c *Cluster) kill() error {
	pid, _, ok := c.runningServer()
	if !ok {
		c.running = false
		return nil
	}
	c.logf("pgcluster: killing PostgreSQL pid %d", pid)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pgcluster: kill: %w", err)
	}
	pids := append(children(pid), pid)
	var errs []error
	for _, p := range pids {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitGone(ctx, pids); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("pgcluster: kill: %w", errors.Join(errs...))
	}
	c.running = false
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

// runningServer reads postmaster.pid and reports the pid and port of a live
// postmaster of this cluster.
func (c *Cluster) runningServer() (pid, port int, ok bool) {
	b, err := os.ReadFile(filepath.Join(c.l.data, "postmaster.pid"))
	if err != nil {
		return 0, 0, false
	}
	// Line 1 is the pid, line 4 the port (see PostgreSQL's pidfile.h).
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil || !alive(pid) {
		return 0, 0, false
	}
	// A stale pid file may name a pid now used by another program.
	if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); strings.TrimSpace(string(comm)) != "postgres" {
		return 0, 0, false
	}
	return pid, port, true
}
