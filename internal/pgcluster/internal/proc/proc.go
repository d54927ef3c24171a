// Package proc watches and signals the processes of a PostgreSQL server
// through /proc. The postmaster is not our child (pg_ctl daemonizes it), so
// /proc is how we see it. It is internal to pgcluster: pgcluster kills a
// server that will not stop, and its fault-injection package pgfault
// freezes one.
package proc

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

// Info is what we need from /proc/PID/stat.
type Info struct {
	State     byte   // 'Z' for a zombie, which counts as gone; 'T' stopped by a signal
	PPid      int    // parent pid
	StartTime string // in clock ticks since boot; with the pid it names a process uniquely
}

// Read returns the /proc/PID/stat of pid; false when there is no such process.
func Read(pid int) (Info, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Info{}, false
	}
	// The command name (field 2) is in parentheses and may hold spaces, so
	// split after the last ')': then state is field 3, ppid 4, starttime 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Info{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) == 0 {
		return Info{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return Info{State: f[0][0], PPid: ppid, StartTime: f[19]}, true
}

// Alive reports whether pid runs and is not a zombie (nothing may reap the
// orphaned postmaster promptly in a container).
func Alive(pid int) bool {
	p, ok := Read(pid)
	return ok && p.State != 'Z'
}

// children lists the pids whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := Read(n); ok && p.PPid == pid {
			kids = append(kids, n)
		}
	}
	return kids
}

// SignalTree sends sig to the postmaster pid and all its children and
// returns their pids, the postmaster last. The postmaster is stopped
// (SIGSTOP) first, so that it cannot fork while its children are collected:
// a child it forked afterwards would escape sig. A child that exits
// meanwhile is no error.
func SignalTree(pid int, sig syscall.Signal) ([]int, error) {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return nil, err
	}
	pids := append(children(pid), pid)
	var errs []error
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	return pids, errors.Join(errs...)
}

// WaitGone waits until none of pids is alive.
func WaitGone(ctx context.Context, pids []int) error {
	return waitAll(ctx, pids, "gone", func(p Info) bool { return p.State == 'Z' })
}

// WaitStopped waits until every live process of pids is stopped by a signal.
func WaitStopped(ctx context.Context, pids []int) error {
	return waitAll(ctx, pids, "stopped", func(p Info) bool { return p.State == 'Z' || p.State == 'T' })
}

// waitAll polls until done holds for each of pids that still exists.
func waitAll(ctx context.Context, pids []int, what string, done func(Info) bool) error {
	for {
		all := true
		for _, pid := range pids {
			if p, ok := Read(pid); ok && !done(p) {
				all = false
			}
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d process(es) to be %s: %w", len(pids), what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
