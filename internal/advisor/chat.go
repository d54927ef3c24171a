package advisor

import (
	"net/http"
	"strings"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// clientContent is the one rule for the content of a message a client
// writes (chat, the raw append, and later edit): present, and not blank
// (empty or only white space, by unicode.IsSpace). The store accepts empty
// content, and the server itself stores replies without text (a generation
// stopped before its first token), so the rule lives here, at the API's
// write paths, not in the store. A blank message would be sent to the
// model as a turn with nothing in it.
func clientContent(content *string) (string, error) {
	if content == nil || strings.TrimSpace(*content) == "" {
		return "", badRequest(`field "content" is required and must not be blank`)
	}
	return *content, nil
}

// chat stores the user's message and starts the reply to it (one
// transaction: while a reply is in flight neither is stored), then answers.
func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	// Checked first: without a model there is nothing to retry later, so
	// the message is not stored.
	if h.cfg.Model == nil {
		h.writeError(w, r, ErrNoModel)
		return
	}
	var req wire.ChatMessage
	if err := decode(r, &req, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	content, err := clientContent(req.Content)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	user, g, err := h.gens.start(r.Context(), r.PathValue("id"), chatStart(content))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.answer(w, r, user, g)
}

// edit is POST …/messages/{mid}/edit: a new version of the user message
// mid (a sibling: same parent), which becomes the active leaf and is
// answered as chat answers. The old version and what follows it stay.
func (h *handler) edit(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Model == nil {
		h.writeError(w, r, ErrNoModel)
		return
	}
	var req wire.ChatMessage
	if err := decode(r, &req, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	content, err := clientContent(req.Content)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	user, g, err := h.gens.start(r.Context(), r.PathValue("id"), editStart(r.PathValue("mid"), content))
	if err != nil {
		h.writeError(w, r, messageNotFound(err))
		return
	}
	h.answer(w, r, user, g)
}

// regenerate is POST …/messages/{mid}/regenerate: a new answer to the
// question the assistant message mid answers, as mid's sibling, active;
// answered as reply answers.
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Model == nil {
		h.writeError(w, r, ErrNoModel)
		return
	}
	var req wire.Empty
	if err := decode(r, &req, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	_, g, err := h.gens.start(r.Context(), r.PathValue("id"), regenerateStart(r.PathValue("mid")))
	if err != nil {
		h.writeError(w, r, messageNotFound(err))
		return
	}
	h.answer(w, r, nil, g)
}

// reply starts a reply to the thread as it stands: the answer to a user
// message without one, or the retry of a reply that did not complete.
func (h *handler) reply(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Model == nil {
		h.writeError(w, r, ErrNoModel)
		return
	}
	var req wire.Empty
	if err := decode(r, &req, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	_, g, err := h.gens.start(r.Context(), r.PathValue("id"), replyStart)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.answer(w, r, nil, g)
}

// answer follows the generation g started: as SSE, or, for JSON, waiting
// for its end. The generation is the server's: a client that goes away
// changes nothing, and the reply is stored as it streams.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, user *store.Message, g *generation) {
	if wantsStream(r) {
		out := h.startSSE(w)
		if user != nil {
			_ = out.event("user", wire.FromMessage(*user))
		}
		h.followLocal(r, out, g, 0)
		return
	}
	select {
	case <-g.done:
	case <-r.Context().Done():
		return // the generation goes on; its reply is stored
	}
	if g.err != nil || g.final.Status == "" {
		h.writeError(w, r, g.endError())
		return
	}
	resp := map[string]any{"reply": wire.FromMessage(g.final)}
	if user != nil {
		resp["user"] = wire.FromMessage(*user)
	}
	writeJSON(w, http.StatusOK, resp)
}

func wantsStream(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "text/event-stream") {
			return true
		}
	}
	return false
}
