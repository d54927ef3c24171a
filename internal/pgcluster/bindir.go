package pgcluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// errNoBinaries says exactly what to install, because a missing server is the
// usual reason a fresh machine cannot run the database tests.
var errNoBinaries = errors.New(`pgcluster: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found ` +
	`via "pg_config --bindir" or in /usr/lib/postgresql/*/bin; ` +
	`install them with: apt-get install postgresql (Debian package postgresql-15)`)

// BinDir returns the directory holding initdb, pg_ctl and postgres: the one
// `pg_config --bindir` reports, else the newest /usr/lib/postgresql/*/bin.
// pg_config alone is not trusted, because libpq-dev ships it without a server.
func BinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first; "9.6" < "15" needs a numeric compare.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", errNoBinaries
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// majorOf returns the version number of /usr/lib/postgresql/<version>/bin.
func majorOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}
