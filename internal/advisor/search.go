package advisor

import (
	"net/http"
	"strconv"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// defaultSearchLimit is a search page's size when the request names none.
const defaultSearchLimit = 20

// search is GET /api/search?q=…&limit=…&cursor=…: the store's Search, whose
// refusals (blank or long q, NUL, invalid UTF-8, limit, cursor) are 400s.
func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r, defaultSearchLimit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := h.cfg.Store.Search(r.Context(), q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.FromSearchPage(page))
}

// limitParam is the request's limit parameter, def when it has none; a
// value that is not a number is store.ErrInvalidLimit, as is one out of
// the store's range.
func limitParam(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, store.ErrInvalidLimit
	}
	return n, nil
}
