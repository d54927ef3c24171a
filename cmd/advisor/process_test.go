//go:build integration

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// buildAdvisor compiles this command once for tests that need real
// processes.
func buildAdvisor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "advisor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestConcurrentApplyProcesses: four `advisor migrate apply` processes
// started together against one empty database all exit 0, and each file is
// applied exactly once: one process applies everything, the others find
// nothing pending after waiting on the CLI's advisory lock.
func TestConcurrentApplyProcesses(t *testing.T) {
	t.Parallel()
	bin := buildAdvisor(t)
	url := pgtest.Empty(t)
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		outs[i] = new(bytes.Buffer)
		cmds[i] = exec.Command(bin, "migrate", "apply")
		cmds[i].Env = append(os.Environ(), "HWLAB_DATABASE_URL="+url)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	appliers := 0
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
		if strings.Contains(outs[i].String(), "Applied ") {
			appliers++
		}
	}
	if appliers != 1 {
		t.Errorf("%d processes applied files, want exactly 1", appliers)
	}
	db := pgtest.Open(t, url)
	vs := versions(t)
	var rows, executes int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE type = 2 AND applied = total)
FROM atlas_schema_revisions.atlas_schema_revisions`).Scan(&rows, &executes); err != nil {
		t.Fatal(err)
	}
	if rows != len(vs) || executes != len(vs) {
		t.Errorf("%d revision rows (%d complete executes), want %d", rows, executes, len(vs))
	}
	// A file applied twice would have failed on CREATE TABLE; check the
	// schema is whole anyway.
	for _, table := range []string{"conversations", "messages"} {
		if !tableExists(t, db, table) {
			t.Error(fmt.Sprint("missing table ", table))
		}
	}
}
