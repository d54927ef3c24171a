package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configures Start. The zero value gives a throwaway cluster on a
// free port.
type Options struct {
	// Dir is the cluster directory. "" means a fresh temp dir that Close
	// removes. A non-empty Dir is persistent: an existing cluster there is
	// reused (initdb runs only when it is empty) and Close keeps it. If its
	// server runs (another process uses it, or a previous user exited
	// without Close), Start adopts it as it is: Settings are ignored and a
	// non-zero Port must match. Several processes may share it; the last
	// one to Close stops the server (lease.go).
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 means the one a persistent
	// cluster already has (kept across starts), else a free one.
	Port int
	// Logf, if set, receives progress messages. It never sees the password.
	Logf func(format string, args ...any)
	// Settings are extra server settings, written to the cluster's
	// configuration (conf.go); they override the defaults (see
	// defaultSettings).
	Settings map[string]string
	// BinDir holds initdb, pg_ctl and postgres; "" means BinDir().
	BinDir string
}

// defaultSettings suit many parallel test databases. fsync stays on: tests
// check that committed rows survive a restart or a kill.
var defaultSettings = map[string]string{
	"max_connections": "200",
}

// Cluster is a running (or stopped) private PostgreSQL server. Its methods
// are safe for concurrent use.
type Cluster struct {
	mu       sync.Mutex
	r        *runner
	l        layout
	temp     bool
	password string
	port     int
	settings map[string]string
	logf     func(string, ...any)
	running  bool
	closed   bool
	adopted  bool     // Start found the server running
	lease    *os.File // held while a persistent cluster is in use (lease.go)
	left     bool     // Close left the server running (lease.go)
}

// Start creates the cluster if needed, starts the server and waits until it
// accepts connections. On error nothing is left running, and a temp dir is
// removed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	return start(ctx, opts, (*Cluster).ensureCluster)
}

// start is Start with the step that makes the cluster, or loads an existing
// one, as create: ensureCluster for Start, a base backup for a standby
// (standby.go).
func start(ctx context.Context, opts Options, create func(*Cluster, context.Context) error) (_ *Cluster, err error) {
	c := &Cluster{logf: opts.Logf, settings: map[string]string{}}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	for k, v := range defaultSettings {
		c.settings[k] = v
	}
	for k, v := range opts.Settings {
		c.settings[k] = v
	}
	bin := opts.BinDir
	if bin == "" {
		if bin, err = BinDir(); err != nil {
			return nil, err
		}
	}
	if c.r, err = newRunner(bin); err != nil {
		return nil, err
	}
	base, temp, err := prepareDir(opts.Dir, c.r)
	if err != nil {
		return nil, err
	}
	c.l, c.temp = newLayout(base), temp
	defer func() {
		if err == nil {
			return
		}
		err = redact(err, c.password)
		if temp {
			_ = os.RemoveAll(base)
		}
	}()
	if temp {
		if err := writeOwner(base); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		reapOrphans(ctx, c.r, c.logf)
	} else {
		unlock, err := lockCluster(ctx, c.l.lock)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := create(c, ctx); err != nil {
		return nil, err
	}
	if !temp {
		if c.lease, err = takeLease(c.l.leases); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				dropLease(c.lease)
			}
		}()
	}
	if pid, port, ok := c.runningServer(); ok {
		// A persistent cluster that another process uses, or whose previous
		// user exited without Close (the postmaster outlives it): adopt it.
		if opts.Port != 0 && opts.Port != port {
			return nil, fmt.Errorf("pgcluster: a server (pid %d) already runs in %s on port %d, not %d",
				pid, base, port, opts.Port)
		}
		c.logf("pgcluster: reusing running server pid %d on 127.0.0.1:%d", pid, port)
		c.port, c.running, c.adopted = port, true, true
		if err := c.waitReady(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}
	if pid, _, ok := c.pidFile(); ok {
		// postgres itself refuses to start while the pid in its pid file
		// lives, even when that process is not its postmaster.
		c.logf("pgcluster: removing stale postmaster.pid: its pid %d is not this cluster's server", pid)
		if err := os.Remove(filepath.Join(c.l.data, "postmaster.pid")); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	if err := c.startFirst(ctx, opts.Port); err != nil {
		return nil, err
	}
	return c, nil
}

// ensureCluster loads the password of an existing cluster, or makes one.
func (c *Cluster) ensureCluster(ctx context.Context) error {
	if c.l.initialized() {
		pw, err := c.l.readPassword()
		c.password = pw
		if err != nil {
			return err
		}
		return c.r.chownTree(c.l.base) // in case it was made by another user
	}
	if err := c.l.checkEmpty(); err != nil {
		return err
	}
	pw, err := newPassword()
	if err != nil {
		return fmt.Errorf("pgcluster: password: %w", err)
	}
	c.password = pw
	if err := os.WriteFile(c.l.pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.r.chownTree(c.l.base); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return initdb(ctx, c.r, c.l, c.logf)
}

// URL returns a connection URL for the postgres superuser and dbname.
func (c *Cluster) URL(dbname string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url(dbname)
}

// Password returns the password of the postgres superuser.
func (c *Cluster) Password() string { return c.password }

// Port returns the TCP port the server listens on (127.0.0.1).
func (c *Cluster) Port() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.port
}

// DataDir returns the PGDATA directory.
func (c *Cluster) DataDir() string { return c.l.data }

// LogFile returns the path of the server log.
func (c *Cluster) LogFile() string { return c.l.logFile }

// Stop shuts the server down (pg_ctl stop -m fast) and waits for it, even
// when other processes share it (tests stop a server on purpose; users end
// with Close). Stopping a stopped cluster is a no-op.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return redact(c.stop(ctx), c.password)
}

// Adopted reports whether Start found the server already running (another
// process's, or left behind) instead of starting it.
func (c *Cluster) Adopted() bool { return c.adopted }

// LeftRunning reports whether Close left the server running: another
// process still uses the persistent cluster, or pgcluster did not start
// that server (see lease.go).
func (c *Cluster) LeftRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.left
}

// Close ends this user of the cluster. A temp cluster is stopped and
// removed. A persistent one is stopped only by the last user out, and only
// if pgcluster started that server (LeftRunning says which happened); its
// directory stays. Calling it again does nothing.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !c.temp {
		unlock, err := lockCluster(ctx, c.l.lock)
		dropLease(c.lease)
		if err != nil {
			return err
		}
		defer unlock()
		if c.left, err = c.keepRunning(); c.left || err != nil {
			c.running = false
			return err
		}
	}
	err := c.stop(ctx)
	if err != nil {
		// Never leave a server behind: fall back to killing it.
		if kerr := c.kill(); kerr == nil {
			err = nil
		} else {
			err = errors.Join(err, kerr)
		}
	}
	if c.temp {
		err = errors.Join(err, os.RemoveAll(c.l.base))
	}
	return redact(err, c.password)
}

// keepRunning decides, under the cluster lock, whether the last user's
// Close leaves the server of a persistent cluster running.
func (c *Cluster) keepRunning() (bool, error) {
	others, err := otherLeases(c.l.leases, nil)
	if err != nil {
		return true, err // when in doubt, do not pull the server from under someone
	}
	if others > 0 {
		c.logf("pgcluster: leaving the server running for %d other user(s) of %s", others, c.l.base)
		return true, nil
	}
	pid, _, ok := c.runningServer()
	if !ok {
		return false, nil // stopped meanwhile: stop is a no-op
	}
	if !c.startedByUs(pid) {
		c.logf("pgcluster: leaving the server (pid %d) running: pgcluster did not start it", pid)
		return true, nil
	}
	return false, nil
}
