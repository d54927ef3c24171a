package pgcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The server's settings live in the cluster's own configuration, not on
// pg_ctl's command line: confName in PGDATA holds the port, where the server
// listens and Options.Settings, and postgresql.conf includes it. So
// `pg_ctl -D <dir>/data start` by hand starts the server the way Start
// does, on the same port. Start rewrites the file each time it starts the
// server; a persistent cluster keeps the port it got first (see startFirst).
const confName = "pgcluster.conf"

// includeConf is the line initdb's postgresql.conf gets appended once.
const includeConf = "include = '" + confName + "'"

var settingName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// writeConf writes confName for a server on port and makes sure
// postgresql.conf includes it.
func (c *Cluster) writeConf(port int) error {
	var b strings.Builder
	b.WriteString("# Written by pgcluster whenever it starts the server; edits here are overwritten.\n")
	fmt.Fprintf(&b, "port = %d\n", port)
	b.WriteString("listen_addresses = '127.0.0.1'\n")
	// Double quotes inside make the list setting take the path verbatim.
	fmt.Fprintf(&b, "unix_socket_directories = %s\n", confQuote(`"`+c.l.base+`"`))
	for _, name := range slices.Sorted(maps.Keys(c.settings)) {
		if !settingName.MatchString(name) {
			return fmt.Errorf("pgcluster: invalid setting name %q", name)
		}
		fmt.Fprintf(&b, "%s = %s\n", name, confQuote(c.settings[name]))
	}
	path := filepath.Join(c.l.data, confName)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.r.chownTree(path); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return c.includeConf()
}

// includeConf appends the include line to postgresql.conf unless it is
// there (a cluster made before this file existed gets it on its next start).
func (c *Cluster) includeConf() error {
	main := filepath.Join(c.l.data, "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.TrimSpace(line) == includeConf {
			return nil
		}
	}
	f, err := os.OpenFile(main, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# pgcluster: port, sockets and settings\n%s\n", includeConf)
	return errors.Join(err, f.Close())
}

// confQuote makes s a postgresql.conf string: single quotes, with ' and \
// escaped (the parser reads backslash escapes inside quotes).
func confQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// confPort is the port in a cluster's confName, 0 if there is none yet.
func confPort(data string) int {
	b, err := os.ReadFile(filepath.Join(data, confName))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "port = "); ok {
			if p, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return p
			}
		}
	}
	return 0
}
