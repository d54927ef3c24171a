package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// layout names the files of one cluster directory.
type layout struct {
	base    string // the cluster directory, also the unix socket directory
	data    string // PGDATA
	logFile string // server log (pg_ctl -l)
	pwFile  string // superuser password, kept so a persistent cluster can be reused
	owner   string // owner process of a temp cluster (see orphans.go)
	lock    string // taken while a process starts or stops a persistent cluster (lease.go)
	leases  string // a lease per user of a persistent cluster (lease.go)
	started string // names the server pgcluster started (lease.go)
}

func newLayout(base string) layout {
	return layout{
		base:    base,
		data:    filepath.Join(base, "data"),
		logFile: filepath.Join(base, "server.log"),
		pwFile:  filepath.Join(base, "password"),
		owner:   filepath.Join(base, ownerFileName),
		lock:    filepath.Join(base, "lock"),
		leases:  filepath.Join(base, "leases"),
		started: filepath.Join(base, "started"),
	}
}

// maxSocketPath is the size of sun_path (108) minus the terminating NUL.
const maxSocketPath = 107

// prepareDir returns the cluster directory: a fresh temp dir when dir is "",
// else dir itself (created if missing).
func prepareDir(dir string, r *runner) (base string, temp bool, err error) {
	if dir == "" {
		// /tmp rather than os.TempDir: a long $TMPDIR could overflow the
		// socket path, and /tmp is world-traversable for the dropped user.
		base, err = os.MkdirTemp("/tmp", "hwlab-pg-")
		return base, true, err
	}
	if base, err = filepath.Abs(dir); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", false, fmt.Errorf("pgcluster: %w", err)
	}
	if err := r.checkTraversable(base); err != nil {
		return "", false, err
	}
	// ".s.PGSQL.65535.lock" is the longest file postgres puts there.
	if n := len(base) + len("/.s.PGSQL.65535.lock"); n > maxSocketPath {
		return "", false, fmt.Errorf("pgcluster: directory %s is too long for a unix socket path "+
			"(%d > %d bytes); use a shorter one such as /var/tmp/hwlab-pg", base, n, maxSocketPath)
	}
	return base, false, nil
}

// initialized reports whether the directory holds a cluster made by initdb.
func (l layout) initialized() bool {
	_, err := os.Stat(filepath.Join(l.data, "PG_VERSION"))
	return err == nil
}

// checkEmpty refuses to initdb into a directory holding anything but our own
// leftovers of an earlier failed attempt, so a mistyped Dir never gets
// mixed with unrelated files.
func (l layout) checkEmpty() error {
	entries, err := os.ReadDir(l.base)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	var foreign []string
	for _, e := range entries {
		switch filepath.Join(l.base, e.Name()) {
		case l.pwFile, l.logFile, l.owner, l.lock, l.leases, l.started:
		default:
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("pgcluster: %s is not empty (%s) and holds no initialized cluster; "+
			"remove it or choose another directory", l.base, strings.Join(foreign, ", "))
	}
	return nil
}

// readPassword reads the password of an existing persistent cluster.
func (l layout) readPassword() (string, error) {
	b, err := os.ReadFile(l.pwFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("pgcluster: %s holds a cluster but no password file %s; "+
			"it was not made by pgcluster, remove it or choose another directory", l.base, l.pwFile)
	}
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("pgcluster: password file %s is empty", l.pwFile)
	}
	return pw, nil
}
