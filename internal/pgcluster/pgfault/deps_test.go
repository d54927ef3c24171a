package pgfault_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNotInTheBinary: the advisor binary does not depend on fault
// injection, nor on the standbys of failover tests (pgstandby). It lists
// the binary's packages with the go command; that the list holds pgcluster
// shows the listing is the real one, so the absence of the others means
// something.
func TestNotInTheBinary(t *testing.T) {
	t.Parallel()
	const (
		binary    = "git.georgsen.dk/hwlab/cmd/advisor"
		pgcluster = "git.georgsen.dk/hwlab/internal/pgcluster"
		pgfault   = pgcluster + "/pgfault"
		pgstandby = pgcluster + "/pgstandby"
	)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	for _, tags := range []string{"", "integration"} {
		out, err := exec.Command(goCmd, "list", "-deps", "-tags", tags, binary).Output()
		if err != nil {
			t.Fatalf("go list -deps -tags %q %s: %v", tags, binary, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, pgcluster) {
			t.Fatalf("go list -deps -tags %q %s does not list %s; is the listing right?\n%s", tags, binary, pgcluster, out)
		}
		for _, testOnly := range []string{pgfault, pgstandby} {
			if slices.Contains(deps, testOnly) {
				t.Errorf("with tags %q, %s depends on %s: a test-only package is linked into the binary", tags, binary, testOnly)
			}
		}
	}
}
