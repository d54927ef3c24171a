package advisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/store"
)

// A generation belongs to the server, not to the request that started it:
// it runs on the server's context (cancelled only by Shutdown), so a
// client that goes away changes nothing. Its text is kept in memory for
// the readers on this instance (delivery never waits for the database) and
// flushed to the store every FlushInterval or FlushBytes, whichever comes
// first, as one chunk row; each flush renews the reply's lease. Readers on
// other instances poll the store at PollInterval (follow.go), so nothing
// but PostgreSQL carries a reply between instances, and it works the same
// behind a pooler in transaction mode, where LISTEN would not.

// Why a generation ended, as its context's cause.
var (
	errStopRequested = errors.New("advisor: stop requested")
	errShutdown      = errors.New("advisor: server shutting down")
	errReplyTooLong  = errors.New("advisor: the reply reached the content limit")
	errLeaseLost     = errors.New("advisor: the reply was ended elsewhere")
)

// generation is one reply in flight on this instance.
type generation struct {
	convID string
	reply  store.Message // as started: status streaming
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	text    []byte        // the reply so far, storable, within the content limit
	changed chan struct{} // closed (and replaced) when text grows or the generation ends
	ended   bool
	final   store.Message // once ended and stored; Status "" if it could not be stored
	err     error         // once ended: why it failed, nil for complete or stopped
	done    chan struct{} // closed when ended
}

// readPiece bounds what a reader copies of the text at once, so a reader
// holds a piece, not the reply: any number of them may follow it.
const readPiece = 64 << 10

// read returns at most readPiece bytes of the text from byte off (moved
// back to a character's start if it falls inside one) and the offset they
// end at; whether the generation has ended with nothing more to read; and
// a channel closed at its next change.
func (g *generation) read(off int) (string, int, bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if off >= len(g.text) {
		return "", off, g.ended, g.changed
	}
	for off > 0 && !utf8.RuneStart(g.text[off]) {
		off--
	}
	end := min(len(g.text), off+readPiece)
	for end < len(g.text) && !utf8.RuneStart(g.text[end]) {
		end--
	}
	return string(g.text[off:end]), end, false, g.changed
}

func (g *generation) wake() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// generations are this instance's replies in flight, by conversation.
type generations struct {
	h    *handler
	base context.Context
	stop context.CancelCauseFunc // cancels base: Shutdown's end of the grace period
	wg   sync.WaitGroup

	mu   sync.Mutex
	byID map[string]*generation
}

func newGenerations(h *handler) *generations {
	base, stop := context.WithCancelCause(context.Background())
	return &generations{h: h, base: base, stop: stop, byID: make(map[string]*generation)}
}

func (gs *generations) get(convID string) *generation {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return gs.byID[convID]
}

// starter stores what a generation starts from, in one transaction of the
// store: the streaming reply, and for chat and edit the user's message
// before it (nil otherwise).
type starter func(ctx context.Context, s *store.Store, convID string, rs store.ReplyStart) (*store.Message, store.Message, error)

// chatStart: the user's message under the active leaf, and its reply.
func chatStart(content string) starter {
	return func(ctx context.Context, s *store.Store, convID string, rs store.ReplyStart) (*store.Message, store.Message, error) {
		u, reply, err := s.StartChat(ctx, convID, content, rs)
		return &u, reply, err
	}
}

// replyStart: the reply to the active leaf, or the retry of one that did
// not complete.
func replyStart(ctx context.Context, s *store.Store, convID string, rs store.ReplyStart) (*store.Message, store.Message, error) {
	reply, err := s.StartReply(ctx, convID, rs)
	return nil, reply, err
}

// editStart: a new version of the user message messageID, and its reply.
func editStart(messageID, content string) starter {
	return func(ctx context.Context, s *store.Store, convID string, rs store.ReplyStart) (*store.Message, store.Message, error) {
		u, reply, err := s.EditMessage(ctx, convID, messageID, content, rs)
		return &u, reply, err
	}
}

// regenerateStart: a new version of the reply messageID.
func regenerateStart(messageID string) starter {
	return func(ctx context.Context, s *store.Store, convID string, rs store.ReplyStart) (*store.Message, store.Message, error) {
		reply, err := s.RegenerateMessage(ctx, convID, messageID, rs)
		return nil, reply, err
	}
}

// start stores what begin stores (a streaming reply, and maybe the user's
// message before it), then generates the reply in the background. The
// memory the generation may take (its text, up to the content limit, and
// the thread it reads, as stored and as sent) is charged to the budget for
// as long as it runs; a spent budget is errBusy, before anything is
// stored.
func (gs *generations) start(ctx context.Context, convID string, begin starter) (*store.Message, *generation, error) {
	h := gs.h
	charge := int64(h.cfg.Store.MaxContentBytes()) + 2*utf8.UTFMax*int64(h.cfg.ThreadBudget)
	if !h.budget.sem.TryAcquire(charge) {
		return nil, nil, errBusy
	}
	rs := store.ReplyStart{Model: h.cfg.DefaultModel, Instance: h.cfg.Instance}
	user, reply, err := begin(ctx, h.cfg.Store, convID, rs)
	if err != nil {
		h.budget.sem.Release(charge)
		return nil, nil, err
	}
	h.cfg.Metrics.generationStarted()
	gctx, cancel := context.WithCancelCause(gs.base)
	g := &generation{convID: reply.ConversationID, reply: reply, cancel: cancel,
		changed: make(chan struct{}), done: make(chan struct{})}
	gs.mu.Lock()
	gs.byID[g.convID] = g
	gs.mu.Unlock()
	gs.wg.Add(1)
	go func() {
		defer gs.wg.Done()
		defer h.budget.sem.Release(charge)
		defer cancel(nil)
		gs.run(gctx, g, reply.Model)
		gs.mu.Lock()
		delete(gs.byID, g.convID)
		gs.mu.Unlock()
	}()
	return user, g, nil
}

// run generates g's reply to the thread, flushing as it goes, and stores
// how it ended.
func (gs *generations) run(ctx context.Context, g *generation, model string) {
	h := gs.h
	began := time.Now()
	var firstToken *int
	limit := h.cfg.Store.MaxContentBytes()
	onDelta := func(d string) {
		d = store.StorableText(d)
		if d == "" {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if firstToken == nil {
			since := time.Since(began)
			h.cfg.Metrics.firstToken.Observe(since.Seconds())
			ms := int(since.Milliseconds())
			firstToken = &ms
		}
		if room := limit - len(g.text); len(d) > room {
			d = d[:runeStart(d, room)]
			g.text = append(g.text, d...)
			g.wake()
			g.cancel(errReplyTooLong)
			return
		}
		g.text = append(g.text, d...)
		g.wake()
	}
	res := make(chan Result, 1)
	var genErr error
	go func() {
		turns, err := gs.thread(ctx, g)
		var r Result
		if err == nil {
			r, err = h.cfg.Model.Generate(ctx, model, turns, onDelta)
		}
		genErr = err
		res <- r
	}()

	f := flusher{gs: gs, g: g}
	tick := time.NewTicker(h.cfg.FlushInterval)
	defer tick.Stop()
	var r Result
loop:
	for {
		select {
		case r = <-res:
			break loop
		case <-tick.C:
			f.flush(ctx, false)
		case <-g.changedChan():
			if f.unflushed() >= h.cfg.FlushBytes {
				f.flush(ctx, false)
			}
		}
	}

	final := store.Final{Status: store.StatusComplete, Reply: store.Reply{
		Model: r.Model, FinishReason: r.FinishReason, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		FirstTokenMS: firstToken,
	}}
	err := genErr
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errStopRequested):
		final.Status, err = store.StatusStopped, nil
	case errors.Is(cause, errShutdown):
		final.Status, err = store.StatusInterrupted, errInterrupted
	case errors.Is(cause, errReplyTooLong):
		final.Status, err = store.StatusFailed, fmt.Errorf("%w: the reply reached the content limit of %d bytes", ErrModelFailed, limit)
	case errors.Is(cause, errLeaseLost):
		final.Status, err = store.StatusInterrupted, errInterrupted
	case err != nil:
		final.Status = store.StatusFailed
	default:
		g.mu.Lock()
		blank := strings.TrimSpace(string(g.text)) == ""
		g.mu.Unlock()
		if blank {
			final.Status, err = store.StatusFailed, emptyReply
		}
	}
	took := time.Since(began)
	d := int(took.Milliseconds())
	final.DurationMS = &d
	var stored store.Message
	if !errors.Is(context.Cause(ctx), errLeaseLost) {
		stored = f.finish(final)
	}
	h.cfg.Metrics.generationEnded(final.Status, took, r)
	if err != nil && final.Status == store.StatusFailed {
		h.log.Error("reply failed; its text so far is kept", "conversation", g.convID, "message", g.reply.ID, "err", err)
	}
	g.mu.Lock()
	g.ended, g.final, g.err = true, stored, err
	g.wake()
	g.mu.Unlock()
	close(g.done)
}

// changedChan is the channel closed at the generation's next change.
func (g *generation) changedChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// errInterrupted: the reply ended before the model finished, because its
// server shut down or lost it; its text up to the last flush is kept.
var errInterrupted = fmt.Errorf("%w: the reply was interrupted", ErrModelFailed)

// thread is what the model is sent for g: the tail of the active path
// that fits the budget, without the replies that did not complete after
// the last user message (g's own; a stopped, failed or interrupted one
// being retried is g's sibling, off the path, but a database from before
// the tree may hold one on it). A reply that did not complete but that
// the user answered stays: the user read it and wrote on.
func (gs *generations) thread(ctx context.Context, g *generation) ([]Turn, error) {
	h := gs.h
	// Only the tail that can fit the thread budget is read: a character is
	// at most utf8.UTFMax bytes.
	c, msgs, err := h.cfg.Store.GetRecentThread(ctx, g.convID, utf8.UTFMax*h.cfg.ThreadBudget)
	if err != nil {
		return nil, err
	}
	for len(msgs) > 0 {
		last := msgs[len(msgs)-1]
		if last.Role != store.RoleAssistant || last.Status == store.StatusComplete {
			break
		}
		msgs = msgs[:len(msgs)-1]
	}
	t := fitThread(h.cfg.SystemPrompt, msgs, h.cfg.ThreadBudget)
	// The thread is the active path; the conversation's message_count
	// counts every branch, so it cannot say how much of the path was left
	// out. The tail read can: it starts below the root when older messages
	// were not even read (they do not fit either), and those are not
	// counted.
	olderUnread := len(msgs) > 0 && msgs[0].ParentID != ""
	if t.droppedMsgs > 0 || olderUnread {
		h.log.Info("thread over budget: oldest messages not sent to the model",
			"conversation", c.ID, "dropped_messages", t.droppedMsgs, "dropped_chars", t.droppedChars,
			"older_unread", olderUnread, "sent_messages", len(msgs)-t.droppedMsgs, "budget_chars", h.cfg.ThreadBudget)
	}
	return t.turns, nil
}

// runeStart is the largest i <= n at which s[i:] starts a character.
func runeStart(s string, n int) int {
	n = max(0, min(n, len(s)))
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// flusher writes a generation's text to the store as chunks. A chunk that
// failed is retried as it was (same number, same text), since it may have
// been stored with only its acknowledgement lost; text that arrives
// meanwhile waits for the next chunk.
type flusher struct {
	gs      *generations
	g       *generation
	n       int          // the next chunk's number
	flushed int          // bytes of g.text in acknowledged chunks
	pending *store.Chunk // sent, not acknowledged
	renewed time.Time    // the last write that renewed the lease
}

func (f *flusher) unflushed() int {
	f.g.mu.Lock()
	defer f.g.mu.Unlock()
	return len(f.g.text) - f.flushed
}

// flush sends the text since the last chunk, or renews the lease when
// there is none and it is due; force renews in any case.
func (f *flusher) flush(ctx context.Context, force bool) {
	if f.pending == nil {
		f.g.mu.Lock()
		if len(f.g.text) > f.flushed {
			f.pending = &store.Chunk{N: f.n, Text: string(f.g.text[f.flushed:])}
		}
		f.g.mu.Unlock()
	}
	if f.pending == nil && !force && time.Since(f.renewed) < f.gs.h.cfg.LeaseRenew {
		return
	}
	c := store.Chunk{N: f.n}
	if f.pending != nil {
		c = *f.pending
	}
	// Not ctx: a stop or a shutdown must not cancel the flush under way.
	stop, err := f.gs.h.cfg.Store.FlushReply(context.WithoutCancel(ctx), f.g.reply.ID, c)
	switch {
	case err == nil:
		f.renewed = time.Now()
		if f.pending != nil {
			f.flushed += len(f.pending.Text)
			f.n++
			f.pending = nil
		}
		if stop {
			f.g.cancel(errStopRequested)
		}
	case errors.Is(err, store.ErrNoGeneration), errors.Is(err, store.ErrNotFound):
		// Swept as interrupted by another instance (this one looked dead),
		// or its conversation was deleted: nothing more can be stored.
		f.gs.h.log.Warn("reply lost its lease; generation stopped", "conversation", f.g.convID, "message", f.g.reply.ID, "err", err)
		f.g.cancel(errLeaseLost)
	default:
		// The database is away: keep the text and try again next tick.
		f.gs.h.log.Warn("flush of a reply failed; will retry", "conversation", f.g.convID, "message", f.g.reply.ID, "err", err)
	}
}

// finish stores how the reply ended, with the chunks not yet acknowledged,
// retrying while the database is unavailable for up to FinishRetry. A
// reply that cannot be stored stays streaming in the store, and its lease
// expires: any instance's sweep then ends it interrupted with the text up
// to its last flush.
func (f *flusher) finish(final store.Final) store.Message {
	var pending []store.Chunk
	if f.pending != nil {
		pending = append(pending, *f.pending)
		f.n++
	}
	f.g.mu.Lock()
	rest := len(f.g.text) - f.flushed
	if f.pending != nil {
		rest -= len(f.pending.Text)
	}
	if rest > 0 {
		pending = append(pending, store.Chunk{N: f.n, Text: string(f.g.text[len(f.g.text)-rest:])})
	}
	f.g.mu.Unlock()
	deadline := time.Now().Add(f.gs.h.cfg.FinishRetry)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		m, err := f.gs.h.cfg.Store.FinishReply(context.Background(), f.g.reply.ID, pending, final)
		if err == nil {
			return m
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().Add(wait).After(deadline) {
			f.gs.h.log.Error("could not store the end of a reply; a sweep will end it interrupted",
				"conversation", f.g.convID, "message", f.g.reply.ID, "status", final.Status, "err", err)
			return store.Message{}
		}
		time.Sleep(wait) // a back-off between retries of the database, not synchronisation
	}
}

// shutdown waits for the generations in flight until ctx is done, then
// ends the rest as interrupted, each with its text flushed, and waits for
// them to be stored.
func (gs *generations) shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() { gs.wg.Wait(); close(done) }()
	select {
	case <-done:
		gs.stop(errShutdown)
		return
	case <-ctx.Done():
	}
	gs.stop(errShutdown)
	<-done
}
