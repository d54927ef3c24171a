//go:build integration

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/secret"
	"git.georgsen.dk/hwlab/migrate"
)

// TestSentinelSurvivesMasking: a migration directory that does not match
// its atlas.sum fails serve's schema step (migrating or, with --no-migrate,
// only checking) and `migrate apply` with an error that still matches
// migrate.ErrChecksumMismatch after the CLI masked it. The role's password
// is "hash", a word of that error's text ("run `advisor migrate hash`"), so
// the mask really rewrites the text and errors.Is has to see through it.
func TestSentinelSurvivesMasking(t *testing.T) {
	t.Parallel()
	const password = "hash"
	dsn := roleDatabase(t, password)
	tampered := scratchDir(t)
	first := filepath.Join(tampered, pgtest.MigrationFiles(t)[0].Name())
	body, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first, append(body, "\n-- edited by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := migrate.OpenDir(tampered)
	if err != nil {
		t.Fatal(err)
	}
	vars := dbEnv(dsn)
	getenv := func(k string) string { return vars[k] }
	mask := newSecrets(getenv, nil).Error // what run does to every error
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	cases := []struct {
		name string
		run  func() error
	}{
		{"serve migrates", func() error {
			return mask(prepareSchema(ctx, quiet, serveOptions{dsn: dsn}, dir))
		}},
		{"serve --no-migrate checks", func() error {
			return mask(prepareSchema(ctx, quiet, serveOptions{dsn: dsn, noMigrate: true}, dir))
		}},
		{"migrate apply", func() error {
			var stdout, stderr bytes.Buffer
			return run(ctx, []string{"migrate", "apply", "--dir", tampered}, getenv, &stdout, &stderr)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.run()
			if !errors.Is(err, migrate.ErrChecksumMismatch) {
				t.Fatalf("err = %v; want it to match migrate.ErrChecksumMismatch", err)
			}
			if !strings.Contains(err.Error(), secret.Mask) || strings.Contains(err.Error(), password) {
				t.Fatalf("err = %q; want %q masked, so that errors.Is went through the mask", err, password)
			}
		})
	}
}
