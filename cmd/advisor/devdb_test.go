//go:build integration

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevDir: the dev cluster lives in the checkout's .dev/pg when the
// PostgreSQL user can reach it; as root, a checkout under a mode-700
// directory falls back to /var/tmp/hwlab-dev-<uid>-<hash>, the same one
// every time for the same checkout.
func TestDevDir(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	open := filepath.Join(top, "open", "repo")
	closed := filepath.Join(top, "closed", "repo")
	for _, d := range []string{open, closed} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{top, filepath.Dir(top), filepath.Dir(open)} {
		os.Chmod(d, 0o755) // t.TempDir's dirs are 700
	}
	os.Chmod(filepath.Dir(closed), 0o700)

	if dir, fallback := devDir(open); fallback || dir != filepath.Join(open, ".dev", "pg") {
		t.Errorf("reachable checkout: %s (fallback %v)", dir, fallback)
	}
	if fi, err := os.Stat(filepath.Join(open, ".dev")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf(".dev: %v, %v; want mode 755 so the PostgreSQL user can pass", fi, err)
	}
	dir, fallback := devDir(closed)
	if os.Geteuid() != 0 {
		if fallback {
			t.Errorf("not root, yet fell back to %s", dir)
		}
		return
	}
	again, _ := devDir(closed)
	if !fallback || !strings.HasPrefix(dir, "/var/tmp/hwlab-dev-0-") || dir != again {
		t.Errorf("unreachable checkout as root: %s then %s (fallback %v)", dir, again, fallback)
	}
}
