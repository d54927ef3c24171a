//go:build integration

package main

import (
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestMigrateCommandsTakeMigrationURL: without --url, migrate apply and
// status work on HWLAB_MIGRATE_DATABASE_URL, the direct URL, even when
// HWLAB_DATABASE_URL is set (to a transaction pooler in production; here
// another database, so that the wrong choice shows); --url still wins.
func TestMigrateCommandsTakeMigrationURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		withURL bool // pass the migration database as --url, no HWLAB_MIGRATE_DATABASE_URL
	}{
		{"HWLAB_MIGRATE_DATABASE_URL", false},
		{"--url", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			appURL, migURL := pgtest.Empty(t), pgtest.Empty(t)
			env := map[string]string{"HWLAB_DATABASE_URL": appURL, "HWLAB_MIGRATE_DATABASE_URL": migURL}
			var extra []string
			if tc.withURL {
				delete(env, "HWLAB_MIGRATE_DATABASE_URL")
				extra = []string{"--url", migURL}
			}
			r := runAdvisor(t, env, append([]string{"migrate", "apply"}, extra...)...)
			mustSucceed(t, r, "apply")
			r = runAdvisor(t, env, append([]string{"migrate", "status"}, extra...)...)
			mustSucceed(t, r, "status")
			contains(t, r.stdout, "Migration Status: OK", "status of the migration database")
			if !tableExists(t, pgtest.Open(t, migURL), "conversations") {
				t.Errorf("the migration database has no conversations table")
			}
			if tableExists(t, pgtest.Open(t, appURL), "conversations") {
				t.Errorf("HWLAB_DATABASE_URL's database was migrated, not the migration URL's")
			}
		})
	}
}
