package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/secret"
)

// devDirName is the dev cluster's home inside the checkout (gitignored).
const devDirName = ".dev/pg"

// devDBName is the database the dev cluster serves the advisor from.
const devDBName = "hwlab"

type devDB struct {
	cluster *pgcluster.Cluster
	url     string
}

// devDir picks where the dev cluster lives: .dev/pg in the checkout, so it
// goes away with it; but as root PostgreSQL runs as an unprivileged user,
// which cannot enter a checkout under /root (mode 700), and a deep checkout
// can overflow the unix socket path. Then /var/tmp/hwlab-dev-<uid>-<hash>:
// /var/tmp survives reboots (unlike /tmp), and the hash of the checkout's
// path keeps two checkouts apart and finds the same cluster next time.
func devDir(repo string) (dir string, fallback bool) {
	inRepo := filepath.Join(repo, devDirName)
	// pgcluster would create .dev with mode 700, which the PostgreSQL user
	// could not pass through; .dev holds nothing secret itself (the cluster
	// directory below it is 700 and owned by that user).
	parent := filepath.Dir(inRepo)
	if os.MkdirAll(parent, 0o755) == nil && os.Chmod(parent, 0o755) == nil && pgcluster.CheckDir(inRepo) == nil {
		return inRepo, false
	}
	sum := sha256.Sum256([]byte(repo))
	return fmt.Sprintf("/var/tmp/hwlab-dev-%d-%x", os.Getuid(), sum[:4]), true
}

// startDevDB starts, or shares, the dev cluster and makes sure its database
// exists. Several processes may use it at once (two make run, a CLI
// command beside one): close stops the server only when the last of them
// leaves, and only a server pgcluster started (pgcluster's leases). The
// data stays, and the next run starts it in a second or two.
func startDevDB(ctx context.Context, log *slog.Logger, sec *secret.Set) (*devDB, error) {
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	dir, fallback := devDir(repo)
	if fallback {
		log.Info("dev cluster: the checkout is not reachable for the PostgreSQL user (or too deep for a socket path); using a directory under /var/tmp", "dir", dir)
	}
	log.Info("dev cluster: opening", "dir", dir)
	start := time.Now()
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		Dir:  dir,
		Logf: func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return nil, fmt.Errorf("dev cluster in %s: %w", dir, err)
	}
	sec.AddPassword(c.Password()) // its superuser's, in every URL of it
	if err := ensureDatabase(ctx, c.URL("postgres")); err != nil {
		c.Close()
		return nil, err
	}
	how := "started"
	if c.Adopted() {
		how = "shared: its server was already running, and it stays up for its other users when this process exits"
	}
	log.Info("dev cluster: ready", "port", c.Port(), "database", devDBName, "server", how, "took", time.Since(start).Round(time.Millisecond))
	return &devDB{cluster: c, url: c.URL(devDBName)}, nil
}

func (d *devDB) close(log *slog.Logger) {
	if err := d.cluster.Close(); err != nil {
		log.Error("dev cluster: stop failed", "err", err)
		return
	}
	if d.cluster.LeftRunning() {
		log.Info("dev cluster: left running (another process uses it, or it was not started by advisor)")
		return
	}
	log.Info("dev cluster: stopped (data kept)")
}

// createDevDB is constant: CREATE DATABASE takes no parameter, and no SQL
// is built from input.
const createDevDB = `CREATE DATABASE ` + devDBName

// ensureDatabase creates the dev database unless it exists. CREATE
// DATABASE has no IF NOT EXISTS; a concurrent creator's
// duplicate_database is fine too.
func ensureDatabase(ctx context.Context, adminURL string) error {
	s, err := openStore(ctx, adminURL)
	if err != nil {
		return err
	}
	defer s.Close()
	var exists bool
	if err := s.DB().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, devDBName).Scan(&exists); err != nil {
		return fmt.Errorf("dev cluster: %w", err)
	}
	if exists {
		return nil
	}
	var pgErr *pgconn.PgError
	if _, err := s.DB().ExecContext(ctx, createDevDB); err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return fmt.Errorf("dev cluster: create database %s: %w", devDBName, err)
	}
	return nil
}
