package pgcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// CheckDir reports whether Start could keep a persistent cluster in dir,
// without creating anything: the unprivileged user PostgreSQL runs as when
// we are root must be able to reach it (search permission on every
// existing parent), and the socket path must fit. Callers that have a
// fallback location (make run's dev cluster) try it when this fails.
func CheckDir(dir string) error {
	base, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if n := len(base) + len("/.s.PGSQL.65535.lock"); n > maxSocketPath {
		return fmt.Errorf("pgcluster: directory %s is too long for a unix socket path (%d > %d bytes)", base, n, maxSocketPath)
	}
	bin, err := BinDir()
	if err != nil {
		return err
	}
	r, err := newRunner(bin)
	if err != nil {
		return err
	}
	p := base
	for {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		p = filepath.Dir(p)
	}
	if p == base {
		return r.checkTraversable(base)
	}
	// base does not exist yet: MkdirAll would create it under p, so p and
	// its parents must be reachable (the created dirs are chowned).
	return r.checkTraversable(filepath.Join(p, "x"))
}
