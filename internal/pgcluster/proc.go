package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procInfo is what we need from /proc/PID/stat. The postmaster is not our
// child (pg_ctl daemonizes it), so /proc is how we watch it.
type procInfo struct {
	state     byte   // 'Z' for a zombie, which counts as gone
	ppid      int    // parent pid
	startTime string // in clock ticks since boot; with the pid it names a process uniquely
}

func readProc(pid int) (procInfo, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, false
	}
	// The command name (field 2) is in parentheses and may hold spaces, so
	// split after the last ')': then state is field 3, ppid 4, starttime 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) == 0 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procInfo{state: f[0][0], ppid: ppid, startTime: f[19]}, true
}

// alive reports whether pid runs and is not a zombie (nothing may reap the
// orphaned postmaster promptly in a container).
func alive(pid int) bool {
	p, ok := readProc(pid)
	return ok && p.state != 'Z'
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
		if p, ok := readProc(n); ok && p.ppid == pid {
			kids = append(kids, n)
		}
	}
	return kids
}

// waitGone waits until none of pids is alive.
func waitGone(ctx context.Context, pids []int) error {
	for {
		left := false
		for _, pid := range pids {
			left = left || alive(pid)
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
