package advisor

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// clientContent is the one rule for the content of a message a client
// writes (chat, the raw append, and later edit): present, and not blank
// (empty or only white space, by unicode.IsSpace). The store accepts empty
// content, and the server itself stores replies without text (a generation
// stopped before its first token), so the rule lives here, at the API's
// write paths, not in the store. A blank message would be sent to the
// model as a turn with nothing in it and, stored as the last assistant
// message, would block /reply.
func clientContent(content *string) (string, error) {
	if content == nil || strings.TrimSpace(*content) == "" {
		return "", badRequest(`field "content" is required and must not be blank`)
	}
	return *content, nil
}

// chat stores the user's message, then answers the thread (answer).
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
	user, err := h.cfg.Store.AppendMessage(r.Context(), r.PathValue("id"), store.RoleUser, content)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.answer(w, r, &user)
}

// reply answers the thread as it stands: the retry after a model failure.
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
	h.answer(w, r, nil)
}

// answer sends the thread to the model and stores the complete reply. user
// is the message chat just stored, nil for reply. A failed or abandoned
// generation stores nothing; the user's message stays, so reply can retry.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, user *store.Message) {
	// Only the tail that can fit the thread budget is read: a character is
	// at most utf8.UTFMax bytes, so messages beyond that many bytes could
	// never be sent, and a long thread of large messages is not loaded
	// whole for every turn (the memory budget charges one message's worth).
	c, msgs, err := h.cfg.Store.GetRecentThread(r.Context(), r.PathValue("id"), utf8.UTFMax*h.cfg.ThreadBudget)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if user == nil && (len(msgs) == 0 || msgs[len(msgs)-1].Role != store.RoleUser) {
		h.writeError(w, r, errNotUserTurn)
		return
	}
	t := fitThread(h.cfg.SystemPrompt, msgs, h.cfg.ThreadBudget)
	if sent := len(msgs) - t.droppedMsgs; sent < c.MessageCount {
		// dropped_chars counts the messages read and then dropped;
		// unread_messages were beyond the budget's bytes and not read.
		h.log.Info("thread over budget: oldest messages not sent to the model",
			"conversation", c.ID, "dropped_messages", c.MessageCount-sent, "dropped_chars", t.droppedChars,
			"unread_messages", c.MessageCount-len(msgs), "sent_messages", sent, "budget_chars", h.cfg.ThreadBudget)
	}
	model := c.Model
	if model == "" {
		model = h.cfg.DefaultModel
	}
	if wantsStream(r) {
		h.stream(w, r, c.ID, user, model, t.turns)
		return
	}
	text, err := h.cfg.Model.Generate(r.Context(), model, t.turns, nil)
	if err == nil && strings.TrimSpace(text) == "" {
		err = emptyReply
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	m, err := h.cfg.Store.AppendMessage(r.Context(), c.ID, store.RoleAssistant, text)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp := map[string]any{"reply": wire.FromMessage(m)}
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
