package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// startFirst starts the server on port, or on a free port when port is 0,
// retrying with another port if the chosen one was taken meanwhile.
func (c *Cluster) startFirst(ctx context.Context, port int) error {
	if port != 0 {
		return c.startOn(ctx, port)
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

// startOn runs pg_ctl start on port and waits until the server is ready.
func (c *Cluster) startOn(ctx context.Context, port int) error {
	opts, err := c.serverOptions(port)
	if err != nil {
		return err
	}
	offset := logSize(c.l.logFile)
	c.logf("pgcluster: starting PostgreSQL on 127.0.0.1:%d (data %s)", port, c.l.data)
	out, err := c.r.command(ctx, c.l.base, "pg_ctl", "start",
		"-w", "-t", "60", "-s",
		"-D", c.l.data,
		"-l", c.l.logFile,
		"-o", opts,
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
	return nil
}

var settingName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// serverOptions builds pg_ctl's -o string. pg_ctl hands it to /bin/sh, so
// every argument is shell-quoted.
func (c *Cluster) serverOptions(port int) (string, error) {
	args := []string{
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		// Double quotes make the list setting take the path verbatim.
		"-c", `unix_socket_directories="` + c.l.base + `"`,
	}
	for _, name := range slices.Sorted(maps.Keys(c.settings)) {
		if !settingName.MatchString(name) {
			return "", fmt.Errorf("pgcluster: invalid setting name %q", name)
		}
		args = append(args, "-c", name+"="+c.settings[name])
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " "), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
	// A stale pid file may name a pid now used by another program.
	if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); strings.TrimSpace(string(comm)) != "postgres" {
		return 0, 0, false
	}
	return pid, port, true
}
