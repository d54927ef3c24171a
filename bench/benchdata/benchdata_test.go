//go:build integration

package benchdata_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/bench/baseline"
	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var spec = benchdata.Spec{Conversations: 30, MessagesPer: 3, Threads: []int{2, 7}}

func load(t *testing.T, url string, spec benchdata.Spec) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := benchdata.Load(context.Background(), conn, spec); err != nil {
		t.Fatal(err)
	}
}

// TestLoadMigrated: on the migrated schema the generated data is what the
// store itself would have written: counts and seq agree, the threads have
// their sizes and read back in order, and the listing is in generation order.
func TestLoadMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.Migrated(t)
	var last, total int64
	s := spec
	s.Progress = func(done, tot int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, total = done, tot
	}
	load(t, url, s)
	if last != total || total != 30*4+3+8 {
		t.Errorf("progress ended at %d of %d, want 131 of 131", last, total)
	}

	st, err := store.NewStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var bad int
	err = st.DB().QueryRowContext(ctx, `
SELECT count(*) FROM conversations c
WHERE c.message_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
   OR c.message_count <> (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.conversation_id = c.id)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d conversations whose message_count disagrees with their messages (err %v)", bad, err)
	}
	for _, n := range spec.Threads {
		c, err := st.GetConversation(ctx, benchdata.ThreadID(n))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Messages) != n {
			t.Fatalf("thread %d has %d messages", n, len(c.Messages))
		}
		for i := 1; i < n; i++ {
			if !c.Messages[i].CreatedAt.After(c.Messages[i-1].CreatedAt) || c.Messages[i].Role == c.Messages[i-1].Role {
				t.Errorf("thread %d: message %d %+v does not follow %+v", n, i, c.Messages[i], c.Messages[i-1])
			}
		}
		if len(c.Messages[0].Content) != benchdata.ContentBytes {
			t.Errorf("content is %d bytes, want %d", len(c.Messages[0].Content), benchdata.ContentBytes)
		}
	}
	list, err := st.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 32 || list[0].ID != benchdata.ConversationID(1) || list[0].MessageCount != 3 ||
		!list[0].StartedAt.Before(benchdata.Epoch) || list[29].ID != benchdata.ConversationID(30) {
		t.Errorf("listing starts %+v and has %d rows", list[0], len(list))
	}
}

// TestSameDataBothSchemas: the original schema gets the very same rows, so the
// baseline and the store answer alike.
func TestSameDataBothSchemas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	migrated, original := pgtest.Migrated(t), pgtest.Empty(t)
	bl, err := baseline.New(ctx, original, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	if err := bl.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	load(t, migrated, spec)
	load(t, original, spec)
	st, err := store.NewStore(ctx, migrated)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	sl, err := st.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bll, err := bl.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sl, bll) {
		t.Errorf("listings differ:\nstore    %+v\nbaseline %+v", sl[:2], bll[:2])
	}
	sc, err := st.GetConversation(ctx, benchdata.ThreadID(7))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bl.GetConversation(ctx, benchdata.ThreadID(7))
	if err != nil {
		t.Fatal(err)
	}
	// The baseline reads the original schema, which has no reply status:
	// every message there is what the migrated schema calls complete.
	// Nor parents: there every thread is what the migrated schema calls a
	// chain, each message the child of the one before, the last one active.
	for i := range bc.Messages {
		bc.Messages[i].Status = store.StatusComplete
		if i > 0 {
			bc.Messages[i].ParentID = bc.Messages[i-1].ID
		}
	}
	if n := len(bc.Messages); n > 0 {
		bc.ActiveID = bc.Messages[n-1].ID
	}
	if !reflect.DeepEqual(sc, bc) {
		t.Errorf("thread 7 differs:\nstore    %+v\nbaseline %+v", sc, bc)
	}
}
