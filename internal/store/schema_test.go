//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestSchemaAsCatalogued checks the migrated schema as PostgreSQL reports it:
// the original schema's (v1) columns, defaults, FK and CHECK under the
// names PostgreSQL gives that DDL, plus seq, message_count and the indexes.
func TestSchemaAsCatalogued(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	type column struct{ table, name, typ, nullable, def string }
	want := []column{
		{"conversations", "active_seq", "bigint", "YES", ""},
		{"conversations", "forked", "boolean", "NO", "false"},
		{"conversations", "id", "uuid", "NO", "gen_random_uuid()"},
		{"conversations", "message_count", "bigint", "NO", "0"},
		{"conversations", "model", "text", "NO", "''::text"},
		{"conversations", "started_at", "timestamp with time zone", "NO", "now()"},
		{"conversations", "title", "text", "NO", "''::text"},
		{"generations", "conversation_id", "uuid", "NO", ""},
		{"generations", "heartbeat_at", "timestamp with time zone", "NO", "now()"},
		{"generations", "id", "bigint", "NO", ""},
		{"generations", "instance", "text", "NO", ""},
		{"generations", "message_id", "uuid", "NO", ""},
		{"generations", "started_at", "timestamp with time zone", "NO", "now()"},
		{"generations", "stop_requested", "boolean", "NO", "false"},
		{"message_chunks", "content", "text", "NO", ""},
		{"message_chunks", "id", "bigint", "NO", ""},
		{"message_chunks", "message_id", "uuid", "NO", ""},
		{"message_chunks", "n", "integer", "NO", ""},
		{"messages", "completion_tokens", "integer", "YES", ""},
		{"messages", "content", "text", "NO", ""},
		{"messages", "conversation_id", "uuid", "NO", ""},
		{"messages", "created_at", "timestamp with time zone", "NO", "now()"},
		{"messages", "duration_ms", "integer", "YES", ""},
		{"messages", "finish_reason", "text", "YES", ""},
		{"messages", "first_token_ms", "integer", "YES", ""},
		{"messages", "id", "uuid", "NO", "gen_random_uuid()"},
		{"messages", "model", "text", "YES", ""},
		{"messages", "parent_seq", "bigint", "YES", ""},
		{"messages", "prompt_tokens", "integer", "YES", ""},
		{"messages", "role", "text", "NO", ""},
		{"messages", "search_vector", "tsvector", "YES", ""}, // generated (search migration)
		{"messages", "seq", "bigint", "NO", ""},
		{"messages", "status", "text", "NO", "'complete'::text"},
	}
	rows, err := s.DB().Query(`SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`)
	if err != nil {
		t.Fatal(err)
	}
	var got []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.typ, &c.nullable, &c.def); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("columns = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	type constraint struct{ table, name, typ, def string }
	wantCons := []constraint{
		{"conversations", "conversations_active_seq_check", "c", "CHECK ((((active_seq IS NULL) = (message_count = 0)) AND ((active_seq >= 1) AND (active_seq <= message_count))))"},
		{"conversations", "conversations_pkey", "p", "PRIMARY KEY (id)"},
		{"generations", "generations_conversation_id_fkey", "f", "FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE"},
		{"generations", "generations_message_id_fkey", "f", "FOREIGN KEY (message_id) REFERENCES messages(id) ON DELETE CASCADE"},
		{"generations", "generations_pkey", "p", "PRIMARY KEY (id)"},
		{"message_chunks", "message_chunks_message_id_fkey", "f", "FOREIGN KEY (message_id) REFERENCES messages(id) ON DELETE CASCADE"},
		{"message_chunks", "message_chunks_n_check", "c", "CHECK ((n >= 0))"},
		{"message_chunks", "message_chunks_pkey", "p", "PRIMARY KEY (id)"},
		{"messages", "messages_completion_tokens_check", "c", "CHECK ((completion_tokens >= 0))"},
		{"messages", "messages_conversation_id_fkey", "f", "FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE"},
		{"messages", "messages_duration_ms_check", "c", "CHECK ((duration_ms >= 0))"},
		{"messages", "messages_first_token_ms_check", "c", "CHECK ((first_token_ms >= 0))"},
		{"messages", "messages_parent_fkey", "f", "FOREIGN KEY (conversation_id, parent_seq) REFERENCES messages(conversation_id, seq)"},
		{"messages", "messages_parent_seq_check", "c", "CHECK ((parent_seq < seq))"},
		{"messages", "messages_pkey", "p", "PRIMARY KEY (id)"},
		{"messages", "messages_prompt_tokens_check", "c", "CHECK ((prompt_tokens >= 0))"},
		{"messages", "messages_role_check", "c", "CHECK ((role = ANY (ARRAY['user'::text, 'assistant'::text, 'system'::text])))"},
		{"messages", "messages_status_check", "c", "CHECK ((status = ANY (ARRAY['streaming'::text, 'complete'::text, 'stopped'::text, 'failed'::text, 'interrupted'::text])))"},
		{"messages", "messages_status_role_check", "c", "CHECK (((role = 'assistant'::text) OR (status = 'complete'::text)))"},
	}
	rows, err = s.DB().Query(`SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var gotCons []constraint
	for rows.Next() {
		var c constraint
		if err := rows.Scan(&c.table, &c.name, &c.typ, &c.def); err != nil {
			t.Fatal(err)
		}
		gotCons = append(gotCons, c)
	}
	if len(gotCons) != len(wantCons) {
		t.Fatalf("constraints = %+v\nwant %+v", gotCons, wantCons)
	}
	for i := range wantCons {
		if gotCons[i] != wantCons[i] {
			t.Errorf("constraint %d = %+v, want %+v", i, gotCons[i], wantCons[i])
		}
	}

	wantIdx := map[string]string{
		"conversations_pkey":                      "CREATE UNIQUE INDEX conversations_pkey ON public.conversations USING btree (id)",
		"conversations_started_at_id_idx":         "CREATE INDEX conversations_started_at_id_idx ON public.conversations USING btree (started_at DESC, id DESC)",
		"messages_pkey":                           "CREATE UNIQUE INDEX messages_pkey ON public.messages USING btree (id)",
		"messages_conversation_id_seq_key":        "CREATE UNIQUE INDEX messages_conversation_id_seq_key ON public.messages USING btree (conversation_id, seq)",
		"messages_conversation_id_parent_seq_idx": "CREATE INDEX messages_conversation_id_parent_seq_idx ON public.messages USING btree (conversation_id, parent_seq)",
		"messages_branch_starts_idx":              "CREATE INDEX messages_branch_starts_idx ON public.messages USING btree (conversation_id, seq, parent_seq) WHERE (parent_seq IS DISTINCT FROM (seq - 1))",
		"generations_pkey":                        "CREATE UNIQUE INDEX generations_pkey ON public.generations USING btree (id)",
		"generations_conversation_id_key":         "CREATE UNIQUE INDEX generations_conversation_id_key ON public.generations USING btree (conversation_id)",
		"generations_message_id_key":              "CREATE UNIQUE INDEX generations_message_id_key ON public.generations USING btree (message_id)",
		"message_chunks_pkey":                     "CREATE UNIQUE INDEX message_chunks_pkey ON public.message_chunks USING btree (id)",
		"message_chunks_message_id_n_key":         "CREATE UNIQUE INDEX message_chunks_message_id_n_key ON public.message_chunks USING btree (message_id, n)",
		"messages_created_at_id_idx":              "CREATE INDEX messages_created_at_id_idx ON public.messages USING btree (created_at DESC, id DESC)",
		"messages_search_vector_idx":              "CREATE INDEX messages_search_vector_idx ON public.messages USING gin (search_vector)",
		"conversations_title_search_idx":          "CREATE INDEX conversations_title_search_idx ON public.conversations USING gin (hwlab_search_vector(title))",
	}
	rows, err = s.DB().Query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	gotIdx := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		gotIdx[name] = def
	}
	if len(gotIdx) != len(wantIdx) {
		t.Errorf("indexes = %v, want %v", gotIdx, wantIdx)
	}
	for name, def := range wantIdx {
		if gotIdx[name] != def {
			t.Errorf("index %s = %q, want %q", name, gotIdx[name], def)
		}
	}
}

// TestRawInsertBadRoleRejectedByCheck bypasses the store: the database
// itself refuses a bad role.
func TestRawInsertBadRoleRejectedByCheck(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	_, err := s.DB().ExecContext(context.Background(),
		`INSERT INTO messages (conversation_id, seq, role, content) VALUES ($1, 1, 'tool', 'x')`, id)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" || pgErr.ConstraintName != "messages_role_check" {
		t.Fatalf("raw INSERT with role 'tool' = %v, want check_violation on messages_role_check", err)
	}
}

// TestRawInsertWithoutSeqFails: the store is the only writer of messages; a
// raw INSERT that omits seq fails instead of silently breaking order.
func TestRawInsertWithoutSeqFails(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	id := mustCreate(t, s, "m")
	_, err := s.DB().ExecContext(context.Background(),
		`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'x')`, id)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23502" || pgErr.ColumnName != "seq" {
		t.Fatalf("raw INSERT without seq = %v, want not_null_violation on seq", err)
	}
}

// TestDeleteCascades: deleting a conversation takes its messages with it,
// and other conversations are untouched.
func TestDeleteCascades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	gone := mustCreate(t, s, "m")
	kept := mustCreate(t, s, "m")
	for range 3 {
		mustAdd(t, s, gone, "user", "x")
		mustAdd(t, s, kept, "user", "y")
	}
	if err := s.DeleteConversation(ctx, gone); err != nil {
		t.Fatalf("DeleteConversation: %v", err)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, gone); n != 0 {
		t.Errorf("%d messages of the deleted conversation remain, want 0", n)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, kept); n != 3 {
		t.Errorf("other conversation has %d messages, want 3", n)
	}
	if _, err := s.GetConversation(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteConversation(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
}
