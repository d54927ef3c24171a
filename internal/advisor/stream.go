package advisor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// emptyReply: a model that answers nothing has failed; storing an empty
// assistant message would block the retry.
var emptyReply = fmt.Errorf("%w: empty reply", ErrModelFailed)

// sse writes Server-Sent Events; only the handler's goroutine writes.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s sse) event(name string, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s sse) ping() error {
	if _, err := fmt.Fprint(s.w, ": ping\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// stream is answer's SSE mode: event user (chat only), token events as the
// model produces them, then done with the stored reply, or error. A ": ping"
// comment goes out every Heartbeat, also before the first token, while a
// model loads. The model runs in its own goroutine; this one does all the
// writing.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, convID string, user *store.Message, model string, turns []Turn) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a reply may take minutes
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	out := sse{w, rc}
	if user != nil {
		_ = out.event("user", wire.FromMessage(*user))
	} else {
		_ = out.ping()
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	deltas := make(chan string, 64)
	type result struct {
		text string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		text, err := h.cfg.Model.Generate(ctx, model, turns, func(d string) {
			select {
			case deltas <- d:
			case <-ctx.Done():
			}
		})
		done <- result{text, err}
	}()
	gone := func(err error) {
		cancel()
		<-done
		h.log.Info("client went away mid-stream; partial reply not stored", "conversation", convID, "err", err)
	}
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case d := <-deltas:
			if err := out.event("token", map[string]string{"delta": d}); err != nil {
				gone(err)
				return
			}
		case <-tick.C:
			if err := out.ping(); err != nil {
				gone(err)
				return
			}
		case res := <-done:
			// Every delta was queued before Generate returned.
			for len(deltas) > 0 {
				if err := out.event("token", map[string]string{"delta": <-deltas}); err != nil {
					h.log.Info("client went away mid-stream; partial reply not stored", "conversation", convID, "err", err)
					return
				}
			}
			h.finish(out, r, convID, res.text, res.err)
			return
		}
	}
}

// finish stores a complete reply and sends done, or sends error.
func (h *handler) finish(out sse, r *http.Request, convID, text string, err error) {
	if err == nil && strings.TrimSpace(text) == "" {
		err = emptyReply
	}
	if err == nil {
		var m store.Message
		m, err = h.cfg.Store.AppendMessage(r.Context(), convID, store.RoleAssistant, text)
		if err == nil {
			_ = out.event("done", wire.FromMessage(m))
			return
		}
	}
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		h.log.Info("client went away mid-stream; partial reply not stored", "conversation", convID)
		return
	}
	status, msg := statusOf(err)
	if status >= 500 {
		h.log.Error("chat stream failed; partial reply not stored", "conversation", convID, "status", status, "err", err)
	}
	_ = out.event("error", map[string]any{"error": msg, "status": status})
}
