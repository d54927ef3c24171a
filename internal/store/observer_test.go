//go:build integration

package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/store"
)

// opLog is a WithObserver that keeps the names it is told.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) observe(op string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d < 0 {
		op += " (negative duration)"
	}
	l.ops = append(l.ops, op)
}

func (l *opLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ops := l.ops
	l.ops = nil
	return ops
}

// TestObserverNamesEachOperation: every operation that reaches the
// database tells the observer once, under the name its errors carry, so a
// latency and an error about the same operation name it alike; the names
// are constants, never the ids the call was given.
func TestObserverNamesEachOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var log opLog
	s := newStore(t, store.WithObserver(log.observe))
	id := mustCreate(t, s, "llama3")
	mustAdd(t, s, id, "user", "hello")
	log.take()
	var reply store.Message
	unknown := uuid.NewString()

	for _, tc := range []struct {
		op  string
		run func() error
		// fail, if set, fails the same operation on an unknown id: its
		// error must carry the same name.
		fail func() error
	}{
		{"create conversation", func() error { _, err := s.CreateConversation(ctx, "m"); return err }, nil},
		{"add message", func() error { _, err := s.AppendMessage(ctx, id, "user", "more"); return err },
			func() error { _, err := s.AppendMessage(ctx, unknown, "user", "x"); return err }},
		{"get conversation", func() error { _, err := s.GetConversation(ctx, id); return err },
			func() error { _, err := s.GetConversation(ctx, unknown); return err }},
		{"get conversation summary", func() error { _, err := s.GetConversationSummary(ctx, id); return err },
			func() error { _, err := s.GetConversationSummary(ctx, unknown); return err }},
		{"get recent thread", func() error { _, _, err := s.GetRecentThread(ctx, id, 1<<20); return err },
			func() error { _, _, err := s.GetRecentThread(ctx, unknown, 1<<20); return err }},
		{"read conversation", func() error {
			return s.ReadConversation(ctx, id, func(store.ConversationSummary) error { return nil }, func(store.Message) error { return nil })
		}, nil},
		{"list conversations", func() error { _, err := s.ListConversationsPage(ctx, "", 10); return err }, nil},
		{"count conversations", func() error { _, err := s.CountConversations(ctx); return err }, nil},
		{"set title", func() error { return s.SetTitle(ctx, id, "T") },
			func() error { return s.SetTitle(ctx, unknown, "T") }},
		{"start chat", func() error {
			var err error
			_, reply, err = s.StartChat(ctx, id, "go on", store.ReplyStart{Model: "m", Instance: "test"})
			return err
		}, nil},
		{"flush reply", func() error { _, err := s.FlushReply(ctx, reply.ID, store.Chunk{N: 0, Text: "par"}); return err }, nil},
		{"read reply in flight", func() error { _, _, err := s.InFlight(ctx, id); return err }, nil},
		{"follow reply", func() error { _, _, err := s.FollowReply(ctx, reply.ID, -1); return err }, nil},
		{"request stop", func() error { _, err := s.RequestStop(ctx, id); return err }, nil},
		{"finish reply", func() error {
			_, err := s.FinishReply(ctx, reply.ID, nil, store.Final{Status: store.StatusStopped})
			return err
		}, nil},
		{"get message", func() error { _, err := s.GetMessage(ctx, reply.ID); return err },
			func() error { _, err := s.GetMessage(ctx, unknown); return err }},
		{"message owners", func() error { _, err := s.MessageOwners(ctx, []string{reply.ID}); return err }, nil},
		{"sweep interrupted replies", func() error { _, err := s.SweepInterrupted(ctx, time.Hour, ""); return err }, nil},
		{"export conversations", func() error {
			return s.ExportConversations(ctx, func(*store.Conversation) error { return nil })
		}, nil},
		{"health", func() error { return s.Health(ctx) }, nil},
		{"delete conversation", func() error { return s.DeleteConversation(ctx, id) },
			func() error { return s.DeleteConversation(ctx, unknown) }},
	} {
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		ops := log.take()
		// The export reads in batches until one comes back short: at
		// least one observation, each of them the export.
		if len(ops) == 0 || slices.ContainsFunc(ops, func(o string) bool { return o != tc.op }) ||
			(len(ops) > 1 && tc.op != "export conversations") {
			t.Errorf("%s: observer told %q, want [%q]", tc.op, ops, tc.op)
		}
		if tc.fail == nil {
			continue
		}
		err := tc.fail()
		if err == nil || !strings.HasPrefix(err.Error(), "store: "+tc.op) || !strings.ContainsAny(err.Error()[len("store: "+tc.op):][:1], ": ") {
			t.Errorf("%s: failing call's error = %v, want it to name the operation %q", tc.op, err, tc.op)
		}
		if ops := log.take(); !slices.Equal(ops, []string{tc.op}) {
			t.Errorf("%s, failing: observer told %q, want [%q]", tc.op, ops, tc.op)
		}
	}
}
