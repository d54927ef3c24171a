//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

var ctx0 = context.Background()

func intp(n int) *int { return &n }

// startedReply makes a conversation with a user message and starts a reply.
func startedReply(t *testing.T, s *store.Store, instance string) (conv string, reply store.Message) {
	t.Helper()
	conv = mustCreate(t, s, "m")
	mustAdd(t, s, conv, store.RoleUser, "question")
	reply, err := s.StartReply(ctx0, conv, store.ReplyStart{Model: "asked", Instance: instance})
	if err != nil {
		t.Fatalf("StartReply: %v", err)
	}
	return conv, reply
}

// TestReplyLifeCycle: a reply exists from its start, shows its flushed text
// in every thread read while it streams, and ends as one content with its
// metadata; a retried flush or a pending chunk that was stored after all
// is not stored twice; the chunks and the lease are gone afterwards.
func TestReplyLifeCycle(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv, reply := startedReply(t, s, "a")
	// The conversation's model ("m") wins over the one asked for.
	if reply.Status != store.StatusStreaming || reply.Content != "" || reply.Model != "m" {
		t.Fatalf("started reply %+v", reply)
	}
	for i, text := range []string{"Hello, ", "wor"} {
		for range 2 { // the second is a retry after a lost acknowledgement
			stop, err := s.FlushReply(ctx0, reply.ID, store.Chunk{N: i, Text: text})
			if err != nil || stop {
				t.Fatalf("FlushReply %d: stop %v, %v", i, stop, err)
			}
		}
	}
	// Every thread read, and GetMessage, shows the flushed text.
	for _, read := range []struct {
		name string
		get  func() (store.Message, error)
	}{
		{"get", func() (store.Message, error) {
			c, err := s.GetConversation(ctx0, conv)
			if err != nil {
				return store.Message{}, err
			}
			return c.Messages[len(c.Messages)-1], nil
		}},
		{"read", func() (m store.Message, err error) {
			err = s.ReadConversation(ctx0, conv, func(store.ConversationSummary) error { return nil },
				func(msg store.Message) error { m = msg; return nil })
			return m, err
		}},
		{"recent", func() (store.Message, error) {
			_, msgs, err := s.GetRecentThread(ctx0, conv, 1<<20)
			if err != nil {
				return store.Message{}, err
			}
			return msgs[len(msgs)-1], nil
		}},
		{"export", func() (m store.Message, err error) {
			err = s.ExportConversations(ctx0, func(c *store.Conversation) error {
				if c.ID == conv {
					m = c.Messages[len(c.Messages)-1]
				}
				return nil
			})
			return m, err
		}},
		{"message", func() (store.Message, error) { return s.GetMessage(ctx0, reply.ID) }},
	} {
		got, err := read.get()
		if err != nil || got.ID != reply.ID || got.Content != "Hello, wor" || got.Status != store.StatusStreaming {
			t.Fatalf("mid-stream %s: %+v, %v", read.name, got, err)
		}
	}
	m, last, err := s.InFlight(ctx0, conv)
	if err != nil || m.ID != reply.ID || m.Content != "Hello, wor" || last != 1 {
		t.Fatalf("InFlight: %+v last %d, %v", m, last, err)
	}
	st, chunks, err := s.FollowReply(ctx0, reply.ID, 0)
	if err != nil || st != store.StatusStreaming || len(chunks) != 1 || chunks[0] != (store.Chunk{N: 1, Text: "wor"}) {
		t.Fatalf("FollowReply after 0: %s %+v %v", st, chunks, err)
	}
	// Chunk 1 is pending again (its acknowledgement was lost), 2 is new.
	final := store.Final{Status: store.StatusComplete, Reply: store.Reply{Model: "used", FinishReason: "stop",
		PromptTokens: intp(3), CompletionTokens: intp(4), FirstTokenMS: intp(5), DurationMS: intp(600)}}
	done, err := s.FinishReply(ctx0, reply.ID, []store.Chunk{{N: 1, Text: "wor"}, {N: 2, Text: "ld"}}, final)
	if err != nil {
		t.Fatalf("FinishReply: %v", err)
	}
	want := store.Message{ID: reply.ID, ConversationID: conv, Role: store.RoleAssistant, Content: "Hello, world",
		CreatedAt: reply.CreatedAt, Status: store.StatusComplete, Reply: final.Reply}
	got := mustGet(t, s, conv).Messages[1]
	for _, m := range []store.Message{done, got} {
		if m.Content != want.Content || m.Status != want.Status || m.Model != "used" || m.FinishReason != "stop" ||
			*m.PromptTokens != 3 || *m.CompletionTokens != 4 || *m.FirstTokenMS != 5 || *m.DurationMS != 600 || !m.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("finished reply %+v, want %+v", m, want)
		}
	}
	st, chunks, err = s.FollowReply(ctx0, reply.ID, 1)
	if err != nil || st != store.StatusComplete || len(chunks) != 1 || chunks[0].Text != "Hello, world" {
		t.Fatalf("FollowReply after the end: %s %+v %v", st, chunks, err)
	}
	if n := count(t, s.DB(), `SELECT count(*) FROM message_chunks`) + count(t, s.DB(), `SELECT count(*) FROM generations`); n != 0 {
		t.Fatalf("%d chunk or lease rows left", n)
	}
	if _, err := s.FinishReply(ctx0, reply.ID, nil, final); !errors.Is(err, store.ErrNoGeneration) {
		t.Fatalf("second FinishReply: %v", err)
	}
	if _, err := s.FlushReply(ctx0, reply.ID, store.Chunk{N: 3, Text: "x"}); !errors.Is(err, store.ErrNoGeneration) {
		t.Fatalf("flush after the end: %v", err)
	}
	if _, _, err := s.InFlight(ctx0, conv); !errors.Is(err, store.ErrNoGeneration) {
		t.Fatalf("InFlight after the end: %v", err)
	}
}

// TestOneGenerationPerConversation: of 20 concurrent starts (replies and
// chats) exactly one wins; every other is ErrGenerationRunning naming the
// winner, and the losing chats stored no user message.
func TestOneGenerationPerConversation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv := mustCreate(t, s, "m")
	mustAdd(t, s, conv, store.RoleUser, "q")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []string
		running []string
	)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				r   store.Message
				err error
			)
			if i%2 == 0 {
				r, err = s.StartReply(ctx0, conv, store.ReplyStart{Instance: "a"})
			} else {
				_, r, err = s.StartChat(ctx0, conv, "again", store.ReplyStart{Instance: "a"})
			}
			mu.Lock()
			defer mu.Unlock()
			var re *store.RunningError
			switch {
			case err == nil:
				won = append(won, r.ID)
			case errors.As(err, &re) && errors.Is(err, store.ErrGenerationRunning):
				running = append(running, re.MessageID)
			default:
				t.Errorf("start %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || len(running) != 19 {
		t.Fatalf("%d starts won, %d refused", len(won), len(running))
	}
	for _, id := range running {
		if id != won[0] {
			t.Fatalf("refusal names %s, the reply in flight is %s", id, won[0])
		}
	}
	c := mustGet(t, s, conv)
	if n := len(c.Messages); n != 2 && n != 3 { // q, (again,) the reply
		t.Fatalf("%d messages after the starts", n)
	}
	assertSeqAndCount(t, s.DB(), conv, len(c.Messages))
}

// TestStartReplyNeedsATurn: a reply answers a user message or retries a
// reply that did not complete; otherwise ErrNotAwaitingReply.
func TestStartReplyNeedsATurn(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, tc := range []struct {
		name   string
		ending string // how the previous reply ends; "" for no reply, "user" for a user message
		ok     bool
	}{
		{"empty thread", "", false},
		{"after user", "user", true},
		{"after complete", store.StatusComplete, false},
		{"after stopped", store.StatusStopped, true},
		{"after failed", store.StatusFailed, true},
		{"after interrupted", store.StatusInterrupted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conv := mustCreate(t, s, "m")
			if tc.ending != "" {
				mustAdd(t, s, conv, store.RoleUser, "q")
			}
			switch tc.ending {
			case store.StatusInterrupted:
				r, err := s.StartReply(ctx0, conv, store.ReplyStart{Instance: "gone-" + tc.name})
				if err != nil {
					t.Fatal(err)
				}
				if n, err := s.SweepInterrupted(ctx0, time.Hour, "gone-"+tc.name); err != nil || n != 1 {
					t.Fatalf("sweep: %d %v", n, err)
				}
				if m, _ := s.GetMessage(ctx0, r.ID); m.Status != store.StatusInterrupted {
					t.Fatalf("swept reply is %s", m.Status)
				}
			case store.StatusComplete, store.StatusStopped, store.StatusFailed:
				r, err := s.StartReply(ctx0, conv, store.ReplyStart{Instance: "a"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.FinishReply(ctx0, r.ID, []store.Chunk{{N: 0, Text: "a"}}, store.Final{Status: tc.ending}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.StartReply(ctx0, conv, store.ReplyStart{Instance: "a"})
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, store.ErrNotAwaitingReply)) {
				t.Fatalf("StartReply: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestStopAndSweep: a stop is seen by the generator's next flush, from any
// instance; a sweep ends only leases that are stale or the named
// instance's, keeping their flushed text.
func TestStopAndSweep(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv, r := startedReply(t, s, "a")
	if _, err := s.FlushReply(ctx0, r.ID, store.Chunk{N: 0, Text: "partial"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.RequestStop(ctx0, conv)
	if err != nil || id != r.ID {
		t.Fatalf("RequestStop: %s %v", id, err)
	}
	if stop, err := s.FlushReply(ctx0, r.ID, store.Chunk{N: 1, Text: ""}); err != nil || !stop {
		t.Fatalf("heartbeat after stop: stop %v, %v", stop, err)
	}
	// A live lease of another instance is not swept; a stale one is.
	if n, err := s.SweepInterrupted(ctx0, time.Hour, "b"); err != nil || n != 0 {
		t.Fatalf("sweep of a live lease: %d %v", n, err)
	}
	if _, err := s.DB().Exec(`UPDATE generations SET heartbeat_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepInterrupted(ctx0, 30*time.Second, "b"); err != nil || n != 1 {
		t.Fatalf("sweep of a stale lease: %d %v", n, err)
	}
	m := mustGet(t, s, conv).Messages[1]
	if m.Status != store.StatusInterrupted || m.Content != "partial" || m.DurationMS == nil {
		t.Fatalf("swept reply %+v", m)
	}
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"stop with nothing in flight", store.ErrNoGeneration, func() error { _, err := s.RequestStop(ctx0, conv); return err }},
		{"stop unknown conversation", store.ErrNotFound, func() error {
			_, err := s.RequestStop(ctx0, "00000000-0000-0000-0000-000000000000")
			return err
		}},
		{"stop malformed id", store.ErrNotFound, func() error { _, err := s.RequestStop(ctx0, "x"); return err }},
		{"in flight unknown conversation", store.ErrNotFound, func() error {
			_, _, err := s.InFlight(ctx0, "00000000-0000-0000-0000-000000000000")
			return err
		}},
		{"flush NUL", store.ErrInvalidContent, func() error {
			_, err := s.FlushReply(ctx0, r.ID, store.Chunk{N: 2, Text: "a\x00"})
			return err
		}},
	} {
		if err := tc.call(); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

// TestReplyFieldsRoundTripImport: status and metadata survive export and
// import; a file without them imports as complete with nothing known; a
// reply exported while streaming imports as interrupted.
func TestReplyFieldsRoundTripImport(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	conv, r := startedReply(t, s, "a")
	if _, err := s.FinishReply(ctx0, r.ID, []store.Chunk{{N: 0, Text: "answer"}}, store.Final{Status: store.StatusStopped,
		Reply: store.Reply{FinishReason: "stop", CompletionTokens: intp(1), DurationMS: intp(9)}}); err != nil {
		t.Fatal(err)
	}
	orig := mustGet(t, s, conv)
	dst := newStore(t)
	if _, err := dst.ImportConversation(ctx0, *orig); err != nil {
		t.Fatalf("import: %v", err)
	}
	got := mustGet(t, dst, conv).Messages[1]
	if got.Status != store.StatusStopped || got.Model != "m" || got.FinishReason != "stop" || *got.CompletionTokens != 1 ||
		*got.DurationMS != 9 || got.PromptTokens != nil || got.FirstTokenMS != nil {
		t.Fatalf("imported reply %+v", got)
	}
	old := *orig
	old.ID, old.ActiveID = "7b0f3c52-0000-4000-8000-000000000001", "" // written before messages had parents
	old.Messages = []store.Message{
		{ID: "7b0f3c52-0000-4000-8000-000000000002", Role: store.RoleUser, Content: "q", CreatedAt: orig.StartedAt},
		{ID: "7b0f3c52-0000-4000-8000-000000000003", Role: store.RoleAssistant, Content: "a", CreatedAt: orig.StartedAt, Status: store.StatusStreaming},
		{ID: "7b0f3c52-0000-4000-8000-000000000004", Role: store.RoleAssistant, Content: "b", CreatedAt: orig.StartedAt},
	}
	if _, err := dst.ImportConversation(ctx0, old); err != nil {
		t.Fatalf("import of an old-style record: %v", err)
	}
	ms := mustGet(t, dst, old.ID).Messages
	if ms[0].Status != store.StatusComplete || ms[1].Status != store.StatusInterrupted || ms[2].Status != store.StatusComplete || ms[2].Model != "" {
		t.Fatalf("imported statuses %s %s %s", ms[0].Status, ms[1].Status, ms[2].Status)
	}
	for _, tc := range []struct {
		name string
		m    store.Message
	}{
		{"unknown status", store.Message{Role: store.RoleAssistant, Status: "done"}},
		{"user with a reply status", store.Message{Role: store.RoleUser, Status: store.StatusFailed}},
		{"negative tokens", store.Message{Role: store.RoleAssistant, Reply: store.Reply{PromptTokens: intp(-1)}}},
	} {
		bad := old
		bad.ID = "7b0f3c52-0000-4000-8000-000000000009"
		tc.m.ID, tc.m.CreatedAt, tc.m.Content = "7b0f3c52-0000-4000-8000-00000000000a", orig.StartedAt, "x"
		bad.Messages = []store.Message{tc.m}
		if err := dst.CheckImport(bad); !errors.Is(err, store.ErrInvalidRecord) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestStorableText: model output with invalid UTF-8 or NUL is repaired,
// and what comes out is accepted by a flush.
func TestStorableText(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, r := startedReply(t, s, "a")
	for i, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b", "ab"},
		{"bad \xff\xfe byte", "bad \uFFFD byte"},
		{"cut \xe2\x82", "cut \uFFFD"},
		{strings.Repeat("é", 3), "ééé"},
	} {
		got := store.StorableText(tc.in)
		if got != tc.want {
			t.Errorf("StorableText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := s.FlushReply(ctx0, r.ID, store.Chunk{N: i, Text: got}); err != nil {
			t.Errorf("flush of %q: %v", got, err)
		}
	}
}
