package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// A standby is a throwaway cluster made by pg_basebackup from a running
// cluster instead of initdb. pg_basebackup -R leaves standby.signal and
// primary_conninfo (the primary's unix socket, which trusts the local user
// both run as) in the copy, so the server starts as a hot standby that
// streams the primary's WAL. Everything else is a cluster like any other:
// its own port and socket (the copied pgcluster.conf is removed, and
// writeConf writes its own),
// the primary's superuser password (the catalog is copied), and Close stops
// and removes it. Only failover tests need one; they reach it through
// package pgstandby (control.Cluster.Standby), so that the binary's API
// stays Start, Stop, Close and URL.

// startStandby starts a standby of c with opts (Dir must be empty).
func (c *Cluster) startStandby(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir != "" {
		return nil, errors.New("pgcluster: a standby is a throwaway cluster: Options.Dir must be empty")
	}
	c.mu.Lock()
	host, port, password, running := c.l.base, c.port, c.password, c.running
	c.mu.Unlock()
	if !running {
		return nil, errors.New("pgcluster: a standby needs a running primary")
	}
	if opts.BinDir == "" {
		opts.BinDir = c.r.bin
	}
	return start(ctx, opts, func(s *Cluster, ctx context.Context) error {
		return s.baseBackup(ctx, host, port, password)
	})
}

// baseBackup fills the empty cluster directory of s with a copy of the
// cluster whose socket directory is host.
func (s *Cluster) baseBackup(ctx context.Context, host string, port int, password string) error {
	s.password = password
	if err := os.WriteFile(s.l.pwFile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := s.r.chownTree(s.l.base); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	s.logf("pgcluster: pg_basebackup of the cluster on port %d into %s", port, s.l.data)
	out, err := s.r.command(ctx, s.l.base, "pg_basebackup",
		"-h", host, "-p", strconv.Itoa(port), "-U", "postgres",
		"-D", s.l.data,
		"-R",           // standby.signal and primary_conninfo
		"-X", "stream", // the WAL written during the copy comes along
		"-c", "fast", // do not wait for a spread checkpoint
		"--no-sync", // a lost copy is made again, as initdb --no-sync
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_basebackup: %w\n%s", err, lastLines(out, 15))
	}
	// The copy's pgcluster.conf names the primary's port and socket: the
	// standby would try that port first (startFirst keeps a cluster's
	// port), and take it over if the primary were down.
	if err := os.Remove(filepath.Join(s.l.data, confName)); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}
