package pgcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
)

// A temp cluster records its owner process in this file. pg_ctl detaches the
// postmaster, so when a test binary dies without cleanup (a go test timeout,
// SIGKILL) the server keeps running; the next Start of a temp cluster stops
// and removes such orphans.
const ownerFileName = "owner"

const tempPattern = "/tmp/hwlab-pg-*"

// writeOwner records this process as the owner of a temp cluster directory.
func writeOwner(base string) error {
	p, _ := proc.Read(os.Getpid())
	line := fmt.Sprintf("%d %s\n", os.Getpid(), p.StartTime)
	return os.WriteFile(newLayout(base).owner, []byte(line), 0o644)
}

// ownerAlive reports whether the process that made a temp cluster still
// runs. Comparing the start time guards against a reused pid. A directory
// without owner file may be still being set up, so it counts as alive.
func ownerAlive(base string) bool {
	b, err := os.ReadFile(newLayout(base).owner)
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return true
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return true
	}
	p, ok := proc.Read(pid)
	return ok && p.State != 'Z' && p.StartTime == f[1]
}

// reapOrphans stops and removes temp clusters whose owner has died. It is
// best effort: failures only mean the orphan stays for a later attempt.
func reapOrphans(ctx context.Context, r *runner, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(tempPattern)
	for _, dir := range dirs {
		if ownerAlive(dir) {
			continue
		}
		l := newLayout(dir)
		if _, err := os.Stat(filepath.Join(l.data, "postmaster.pid")); err == nil {
			stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_ = r.command(stopCtx, dir, "pg_ctl", "stop", "-s", "-w", "-m", "immediate", "-D", l.data).Run()
			cancel()
		}
		if err := os.RemoveAll(dir); err == nil {
			logf("pgcluster: removed orphaned temp cluster %s", dir)
		}
	}
}
