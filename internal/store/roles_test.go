//go:build integration

package store_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
)

const codeInsufficientPrivilege = "42501"

// TestTwoRoles proves the set-up of deploy/postgres-roles.sql (README, "Two
// roles"): the owner role runs the migrations and owns what they create;
// the app role, with only SELECT/INSERT/UPDATE/DELETE, runs the store fully
// and cannot run DDL; a table added by a later migration is covered by the
// default privileges without another grant.
func TestTwoRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.Direct(t, pgtest.Empty(t), "the owner runs migrations (a session advisory lock)")
	admin := adminOn(t, dbURL)
	owner, ownerURL := newLoginRole(t, admin, dbURL, "hwlab_owner_", "owner-pw-1")
	app, appURL := newLoginRole(t, admin, dbURL, "hwlab_app_", "app-pw-1")

	script, err := os.ReadFile("../../deploy/postgres-roles.sql")
	if err != nil {
		t.Fatal(err)
	}
	// The script names hwlab_owner and hwlab_app; this test's roles have
	// unique names so that parallel runs do not collide.
	sqlText := strings.NewReplacer("hwlab_owner", owner, "hwlab_app", app).Replace(string(script))
	if _, err := admin.ExecContext(ctx, sqlText); err != nil {
		t.Fatalf("deploy/postgres-roles.sql: %v", err)
	}

	ownerStore, err := store.NewStore(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ownerStore.Close() })
	if err := store.RunMigrations(ctx, ownerStore.DB()); err != nil {
		t.Fatalf("migrations as the owner: %v", err)
	}
	var owners []string
	rows, err := admin.QueryContext(ctx, `SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('public', 'atlas_schema_revisions') AND c.relkind IN ('r', 'i')
		UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o string
		rows.Scan(&o)
		owners = append(owners, o)
	}
	rows.Close()
	if len(owners) != 1 || owners[0] != owner {
		t.Errorf("schema objects owned by %v, want only %s", owners, owner)
	}

	appStore, err := store.NewStore(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { appStore.Close() })
	t.Run("the store works fully as the app role", func(t *testing.T) {
		exerciseStore(t, appStore)
	})
	t.Run("the app role cannot run DDL", func(t *testing.T) {
		for _, ddl := range []string{
			`CREATE TABLE app_made (id int)`,
			`CREATE TEMP TABLE app_temp (id int)`,
			`ALTER TABLE messages ADD COLUMN extra int`,
			`DROP TABLE messages`,
			`TRUNCATE messages`,
			`CREATE INDEX app_idx ON messages (content)`,
			`CREATE SCHEMA app_schema`,
			`DELETE FROM atlas_schema_revisions.atlas_schema_revisions`,
		} {
			_, err := appStore.DB().ExecContext(ctx, ddl)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != codeInsufficientPrivilege {
				t.Errorf("%s as the app role: %v, want SQLSTATE %s", ddl, err, codeInsufficientPrivilege)
			}
		}
	})
	t.Run("tables of later migrations are covered", func(t *testing.T) {
		dir, err := migrate.EmbeddedDir()
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.WriteFile("20991231000000_scratch_notes.sql",
			[]byte("CREATE TABLE scratch_notes (id bigint PRIMARY KEY, body text NOT NULL);\n")); err != nil {
			t.Fatal(err)
		}
		if err := migrate.Hash(dir); err != nil {
			t.Fatal(err)
		}
		applied, err := migrate.Apply(ctx, ownerStore.DB(), migrate.Options{Dir: dir})
		if err != nil || len(applied) != 1 {
			t.Fatalf("extra migration as the owner: %v, %v", applied, err)
		}
		db := appStore.DB()
		for _, stmt := range []string{
			`INSERT INTO scratch_notes VALUES (1, 'a')`,
			`UPDATE scratch_notes SET body = 'b' WHERE id = 1`,
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s as the app role: %v", stmt, err)
			}
		}
		var body string
		if err := db.QueryRowContext(ctx, `SELECT body FROM scratch_notes WHERE id = 1`).Scan(&body); err != nil || body != "b" {
			t.Fatalf("SELECT as the app role: %q, %v", body, err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM scratch_notes`); err != nil {
			t.Fatalf("DELETE as the app role: %v", err)
		}
		if _, err := db.ExecContext(ctx, `DROP TABLE scratch_notes`); err == nil {
			t.Fatal("the app role dropped the new table")
		}
	})
}

// exerciseStore runs every store method once and checks the results.
func exerciseStore(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for _, model := range []string{"a", "b", "c"} {
		id, err := s.CreateConversation(ctx, model)
		if err != nil {
			t.Fatalf("CreateConversation: %v", err)
		}
		ids = append(ids, id)
	}
	for _, content := range []string{"one", "two"} {
		if _, err := s.AddMessage(ctx, ids[0], "user", content); err != nil {
			t.Fatalf("AddMessage: %v", err)
		}
	}
	c, err := s.GetConversation(ctx, ids[0])
	if err != nil || len(c.Messages) != 2 || c.Messages[1].Content != "two" {
		t.Fatalf("GetConversation: %+v, %v", c, err)
	}
	list, err := s.ListConversations(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListConversations: %d, %v", len(list), err)
	}
	page, err := s.ListConversationsPage(ctx, "", 2)
	if err != nil || len(page.Conversations) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page, err = s.ListConversationsPage(ctx, page.NextCursor, 2)
	if err != nil || len(page.Conversations) != 1 {
		t.Fatalf("second page: %+v, %v", page, err)
	}
	if err := s.DeleteConversation(ctx, ids[0]); err != nil {
		t.Fatalf("DeleteConversation: %v", err)
	}
	if _, err := s.GetConversation(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetConversation after delete: %v", err)
	}
}
