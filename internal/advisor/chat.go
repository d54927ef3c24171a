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
	h.generate(w, r, func() (starter, error) {
		content, err := chatContent(r)
		return chatStart(content), err
	})
}

// reply starts a reply to the thread as it stands: the answer to a user
// message without one, or the retry of a reply that did not complete (its
// sibling).
func (h *handler) reply(w http.ResponseWriter, r *http.Request) {
	h.generate(w, r, func() (starter, error) { return replyStart, decode(r, &wire.Empty{}, true) })
}

// edit is POST …/messages/{mid}/edit: a new version of the user message
// mid (a sibling: same parent), which becomes the active leaf and is
// answered as chat answers. The old version and what follows it stay.
func (h *handler) edit(w http.ResponseWriter, r *http.Request) {
	h.generate(w, r, func() (starter, error) {
		content, err := chatContent(r)
		return editStart(r.PathValue("mid"), content), err
	})
}

// regenerate is POST …/messages/{mid}/regenerate: a new answer to the
// question the assistant message mid answers, as mid's sibling, active;
// answered as reply answers.
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request) {
	h.generate(w, r, func() (starter, error) {
		return regenerateStart(r.PathValue("mid")), decode(r, &wire.Empty{}, true)
	})
}

// generate is the route of every request that starts a generation: read
// reads the body into what the generation starts from, and the answer
// follows it. Without a model nothing is read or stored: there is nothing
// to retry later.
func (h *handler) generate(w http.ResponseWriter, r *http.Request, read func() (starter, error)) {
	if h.cfg.Model == nil {
		h.writeError(w, r, ErrNoModel)
		return
	}
	begin, err := read()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	user, g, err := h.gens.start(r.Context(), r.PathValue("id"), begin)
	if err != nil {
		if r.PathValue("mid") != "" {
			err = messageNotFound(err)
		}
		h.writeError(w, r, err)
		return
	}
	h.answer(w, r, user, g)
}

// chatContent reads the body of chat and edit, {"content"}.
func chatContent(r *http.Request) (string, error) {
	var req wire.ChatMessage
	if err := decode(r, &req, false); err != nil {
		return "", err
	}
	return clientContent(req.Content)
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
