package advisor

import (
	"net/http"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// defaultPageSize is the listing's page size when the request names none.
const defaultPageSize = 50

func (h *handler) listConversations(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, defaultPageSize)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := h.cfg.Store.ListConversationsPage(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := wire.Page{Conversations: make([]wire.Summary, len(page.Conversations)), NextCursor: page.NextCursor}
	for i, c := range page.Conversations {
		out.Conversations[i] = wire.FromSummary(c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) createConversation(w http.ResponseWriter, r *http.Request) {
	var req wire.NewConversation
	if err := decode(r, &req, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	model := h.cfg.DefaultModel
	if req.Model != nil && *req.Model != "" {
		model = *req.Model
	}
	id, err := h.cfg.Store.CreateConversation(r.Context(), model)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// A new conversation has no thread to read: its summary and [] are the
	// whole conversation.
	sum, err := h.cfg.Store.GetConversationSummary(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/conversations/"+id)
	writeJSON(w, http.StatusCreated, wire.FromHead(sum))
}

// getConversation streams the thread as the store reads it, a message at
// a time, so a long thread of large messages is never held whole (the
// memory budget charges a GET for one message, readCharge). The status is
// decided by the first row: an unknown id is still a 404. A failure after
// the head is out cannot become an error status any more; the connection
// is cut, so the client sees a broken body, never a complete-looking one.
//
// The thread is the active path, root to leaf; message_count counts every
// message of every branch.
func (h *handler) getConversation(w http.ResponseWriter, r *http.Request) {
	h.writeConversation(w, r, http.StatusOK)
}

// writeConversation answers with the conversation as GET reads it.
func (h *handler) writeConversation(w http.ResponseWriter, r *http.Request, status int) {
	tw := wire.NewThreadWriter(w)
	started := false
	err := h.cfg.Store.ReadConversation(r.Context(), r.PathValue("id"),
		func(s store.ConversationSummary) error {
			startJSON(w, status)
			started = true
			return tw.Head(wire.FromHead(s))
		},
		func(m store.Message) error { return tw.Message(wire.FromPathMessage(m)) })
	if err == nil {
		err = tw.End()
	}
	switch {
	case err == nil:
	case !started:
		h.writeError(w, r, err)
	default:
		h.log.Info("conversation read cut off mid-response", "conversation", r.PathValue("id"), "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (h *handler) deleteConversation(w http.ResponseWriter, r *http.Request) {
	if err := h.cfg.Store.DeleteConversation(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// patchConversation renames, switches branch, or both. A switch answers
// the conversation as GET does (the new active path, which the client has
// to draw); a rename alone answers the summary only, and must not read the
// whole thread. The switch goes first: it is refused (409) while a reply
// is in flight, and then the title is not changed either.
func (h *handler) patchConversation(w http.ResponseWriter, r *http.Request) {
	var req wire.ConversationChange
	if err := decode(r, &req, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Title == nil && req.ActiveMessageID == nil {
		h.writeError(w, r, badRequest(`want "title", "active_message_id" or both`))
		return
	}
	id := r.PathValue("id")
	if req.ActiveMessageID != nil {
		if err := h.cfg.Store.SwitchBranch(r.Context(), id, *req.ActiveMessageID); err != nil {
			h.writeError(w, r, messageNotFound(err))
			return
		}
	}
	if req.Title != nil {
		if err := h.cfg.Store.SetTitle(r.Context(), id, *req.Title); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if req.ActiveMessageID != nil {
		h.writeConversation(w, r, http.StatusOK)
		return
	}
	sum, err := h.cfg.Store.GetConversationSummary(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.FromSummary(sum))
}

// addMessage is the raw append, for writers other than the chat.
func (h *handler) addMessage(w http.ResponseWriter, r *http.Request) {
	var req wire.NewMessage
	if err := decode(r, &req, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Role == nil {
		h.writeError(w, r, badRequest(`field "role" is required`))
		return
	}
	content, err := clientContent(req.Content)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	m, err := h.cfg.Store.AppendMessage(r.Context(), r.PathValue("id"), *req.Role, content)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wire.FromMessage(m))
}
