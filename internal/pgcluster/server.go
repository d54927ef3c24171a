package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgcluster/internal/proc"
)

// errPortInUse marks a start that failed because another process took the
// port between freePort and the postmaster's bind.
var errPortInUse = errors.New("port in use")

// The methods below expect c.mu to be held (or c not yet shared).

// startFirst starts the server on port; when port is 0, on the port the
// cluster's configuration already names (a persistent cluster keeps its
// port, so a .pgpass entry or a psql command line keeps working), else on a
// free one, retrying with another if the chosen one was taken meanwhile.
func (c *Cluster) startFirst(ctx context.Context, port int) error {
	if port != 0 {
		return c.startOn(ctx, port)
	}
	if kept := confPort(c.l.data); kept != 0 {
		err := c.startOn(ctx, kept)
		if !errors.Is(err, errPortInUse) {
			return err
		}
		c.logf("pgcluster: port %d of the cluster is taken by another program; moving it to a free port", kept)
	}
	var err error
	for range 3 {
		var p int
		if p, err = freePort(); err != nil {
			return fmt.Errorf("pgcluster: free port: %w", err)
		}
		if err = c.startOn(ctx, p); !errors.Is(err, errPortInUse) {
			return err
		}
		c.logf("pgcluster: port %d was taken meanwhile, trying another", p)
	}
	return err
}

// startOn writes the configuration for port, runs pg_ctl start and waits
// until the server is ready. pg_ctl gets no server options: everything is
// in the configuration (conf.go).
func (c *Cluster) startOn(ctx context.Context, port int) error {
	if err := c.writeConf(port); err != nil {
		return err
	}
	offset := logSize(c.l.logFile)
	c.logf("pgcluster: starting PostgreSQL on 127.0.0.1:%d (data %s)", port, c.l.data)
	out, err := c.r.command(ctx, c.l.base, "pg_ctl", "start",
		"-w", "-t", "60", "-s",
		"-D", c.l.data,
		"-l", c.l.logFile,
	).CombinedOutput()
	if err != nil {
		log := logSince(c.l.logFile, offset)
		// pg_ctl may have given up (timeout, ctx) while the server still starts.
		c.stopImmediate()
		err = fmt.Errorf("pgcluster: pg_ctl start on port %d: %w\n%s\nserver log %s:\n%s",
			port, err, lastLines(out, 5), c.l.logFile, lastLines(log, 20))
		if bytes.Contains(log, []byte("Address already in use")) {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return err
	}
	c.port, c.running = port, true
	if err := c.waitReady(ctx); err != nil {
		c.stopImmediate()
		c.running = false
		return err
	}
	if pid, _, ok := c.runningServer(); ok && !c.temp {
		return c.markStarted(pid)
	}
	return nil
}

// waitReady connects with pgx until the server answers a ping. pg_ctl -w has
// already waited, so this normally succeeds at once; it proves that TCP and
// password auth work, which is what callers rely on.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(context.Background())
			if err == nil {
				c.logf("pgcluster: PostgreSQL ready on 127.0.0.1:%d", c.port)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: server on 127.0.0.1:%d not ready: %w", c.port, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) url(dbname string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable",
		c.password, c.port, url.PathEscape(dbname))
}

// stop runs pg_ctl stop -m fast: clients are disconnected, committed work is
// checkpointed, so everything committed survives.
func (c *Cluster) stop(ctx context.Context) error {
	if !c.running {
		return nil
	}
	c.logf("pgcluster: stopping PostgreSQL on 127.0.0.1:%d", c.port)
	out, err := c.r.command(ctx, c.l.base, "pg_ctl", "stop",
		"-w", "-t", "60", "-s", "-m", "fast", "-D", c.l.data).CombinedOutput()
	if err != nil {
		if _, _, ok := c.runningServer(); ok {
			return fmt.Errorf("pgcluster: pg_ctl stop: %w\n%s", err, lastLines(out, 5))
		}
		// It was not running after all (killed from outside): that is stopped.
	}
	c.running = false
	_ = os.Remove(c.l.started)
	return nil
}

// stopImmediate is the best-effort cleanup after a failed start.
func (c *Cluster) stopImmediate() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.r.command(ctx, c.l.base, "pg_ctl", "stop",
		"-w", "-s", "-m", "immediate", "-D", c.l.data).Run()
}

// freePort asks the kernel for a free port on 127.0.0.1. It may be taken
// again before postgres binds it; startFirst retries in that case.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runningServer reads postmaster.pid and reports the pid and port of a live
// postmaster of this cluster.
func (c *Cluster) runningServer() (pid, port int, ok bool) {
	pid, port, ok = c.pidFile()
	if !ok || !servesDataDir(pid, c.l.data) {
		return 0, 0, false
	}
	return pid, port, true
}

// pidFile returns the pid and port postmaster.pid names, if that pid lives.
func (c *Cluster) pidFile() (pid, port int, ok bool) {
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
	if err1 != nil || err2 != nil || !proc.Alive(pid) {
		return 0, 0, false
	}
	return pid, port, true
}

// servesDataDir reports whether pid is a postmaster of the data directory
// data. A stale pid file may name a pid now used by another program, or by
// another cluster's postmaster, so the name is not enough: the postmaster
// runs in its data directory, so its working directory must be data.
// Reading another user's /proc/PID/cwd fails, which also means "not ours".
func servesDataDir(pid int, data string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if comm, _ := os.ReadFile(filepath.Join(dir, "comm")); strings.TrimSpace(string(comm)) != "postgres" {
		return false
	}
	cwd, err1 := os.Stat(filepath.Join(dir, "cwd"))
	want, err2 := os.Stat(data)
	return err1 == nil && err2 == nil && os.SameFile(cwd, want)
}
