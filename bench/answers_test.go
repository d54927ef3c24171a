//go:build bench

package bench

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestSameAnswers proves the comparison is fair: on the 1M-message data set
// the store and the baseline return the same listing, the same deep page
// and the same threads, so they hold the same data and do the same work.
func TestSameAnswers(t *testing.T) {
	ctx := context.Background()
	st := open(t, implStore, readDB(t, schemaMigrated, spec100k)).st
	bl := open(t, implBaseline, readDB(t, schemaOriginal, spec100k)).base

	sl, err := st.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bll, err := bl.ListConversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sl) != store.MaxPageSize || !reflect.DeepEqual(sl, bll) {
		t.Errorf("ListConversations differ:\nstore    %v\nbaseline %v", head(sl), head(bll))
	}

	page, err := st.ListConversationsPage(ctx, cursorAt(t, st, deepPage), store.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := bl.ListConversationsOffset(ctx, store.MaxPageSize, deepPage*store.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPage(page.Conversations, nil, deepPage); err != nil {
		t.Error(err)
	}
	if !reflect.DeepEqual(page.Conversations, bp) {
		t.Errorf("page %d differs:\nstore    %v\nbaseline %v", deepPage, head(page.Conversations), head(bp))
	}

	for _, n := range spec100k.Threads {
		sc, err := st.GetConversation(ctx, benchdata.ThreadID(n))
		if err != nil {
			t.Fatal(err)
		}
		bc, err := bl.GetConversation(ctx, benchdata.ThreadID(n))
		if err != nil {
			t.Fatal(err)
		}
		// The original schema has no status: its messages read as
		// complete, as the store's do after the migration.
		for i := range bc.Messages {
			bc.Messages[i].Status = store.StatusComplete
		}
		// Nor has it a tree: every thread is a chain, each message's
		// parent the one before it and the last the active leaf, which the
		// store must say and the baseline is then given.
		if err := checkChain(sc); err != nil {
			t.Errorf("thread of %d: %v", n, err)
		}
		bc.ActiveID = sc.ActiveID
		for i := range bc.Messages {
			if i < len(sc.Messages) {
				bc.Messages[i].ParentID = sc.Messages[i].ParentID
			}
		}
		if len(sc.Messages) != n || !reflect.DeepEqual(sc, bc) {
			t.Errorf("thread of %d: store has %d messages, baseline %d, or they differ", n, len(sc.Messages), len(bc.Messages))
		}
	}
}

// checkChain reports whether c's thread is a chain: each message's parent
// the message before it, no siblings, the last message the active leaf.
func checkChain(c *store.Conversation) error {
	prev := ""
	for i, m := range c.Messages {
		if m.ParentID != prev || m.Siblings != nil {
			return fmt.Errorf("message %d: parent %q, siblings %v; want parent %q and no siblings", i, m.ParentID, m.Siblings, prev)
		}
		prev = m.ID
	}
	if c.ActiveID != prev {
		return fmt.Errorf("active leaf %q, want the last message %q", c.ActiveID, prev)
	}
	return nil
}

func head(cs []store.ConversationSummary) []store.ConversationSummary { return cs[:min(2, len(cs))] }
