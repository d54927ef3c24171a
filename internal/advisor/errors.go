package advisor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"git.georgsen.dk/hwlab/internal/store"
)

// Sentinel errors of the handler itself; the error table maps them, with
// the store's, to statuses.
var (
	// ErrNoModel: chat or reply without a configured model.
	ErrNoModel = errors.New("advisor: no model configured")
	// ErrModelFailed: the model endpoint failed or returned nothing usable.
	ErrModelFailed = errors.New("advisor: model failed")
	// errNotUserTurn: reply when the thread does not end with the user's
	// message.
	errNotUserTurn  = errors.New("advisor: last message is not the user's")
	errBadRequest   = errors.New("advisor: bad request")
	errTooLarge     = errors.New("advisor: request body too large")
	errMediaType    = errors.New("advisor: content type must be application/json")
	errForbidden    = errors.New("advisor: forbidden")
	errUnauthorized = errors.New("advisor: unauthorized")
)

// errorTable is the one mapping from error to HTTP status and the message a
// client sees. Order matters: ErrContentTooLarge also matches
// ErrInvalidContent, so it comes first. Messages are fixed strings: the
// error's own text may hold internal detail and never reaches a client,
// except for clientError, whose text the handler wrote for the client.
var errorTable = []struct {
	err    error
	status int
	msg    string
}{
	{store.ErrNotFound, http.StatusNotFound, "conversation not found"},
	{store.ErrContentTooLarge, http.StatusRequestEntityTooLarge, "content too large"},
	{store.ErrInvalidContent, http.StatusBadRequest, "invalid content: NUL bytes and invalid UTF-8 are not allowed"},
	{store.ErrInvalidRole, http.StatusBadRequest, "invalid role: want user, assistant or system"},
	{store.ErrInvalidModel, http.StatusBadRequest, "invalid model name"},
	{store.ErrInvalidTitle, http.StatusBadRequest, "invalid title: too long, or NUL bytes or invalid UTF-8"},
	{store.ErrInvalidCursor, http.StatusBadRequest, "invalid cursor"},
	{store.ErrInvalidLimit, http.StatusBadRequest, "invalid limit: want 1..100"},
	{errBadRequest, http.StatusBadRequest, "bad request"},
	{errUnauthorized, http.StatusUnauthorized, "missing or wrong bearer token"},
	{errForbidden, http.StatusForbidden, "forbidden"},
	{errNotUserTurn, http.StatusConflict, "the last message is not the user's: nothing to reply to"},
	{errTooLarge, http.StatusRequestEntityTooLarge, "request body too large"},
	{errMediaType, http.StatusUnsupportedMediaType, "Content-Type must be application/json"},
	{ErrNoModel, http.StatusServiceUnavailable, "no model configured: set ADVISOR_MODEL_URL (an OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1) and ADVISOR_MODEL, then restart"},
	{ErrModelFailed, http.StatusBadGateway, "the model failed; retry"},
}

// clientError carries a message written for the client (a JSON decoding
// detail, a missing field) on top of a sentinel that picks the status.
type clientError struct {
	sentinel error
	msg      string
}

func (e *clientError) Error() string { return e.msg }
func (e *clientError) Unwrap() error { return e.sentinel }

func badRequest(msg string) error { return &clientError{errBadRequest, msg} }

// statusOf returns the status and the client's message for err.
func statusOf(err error) (int, string) {
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			if ce := (*clientError)(nil); errors.As(err, &ce) {
				return row.status, ce.msg
			}
			return row.status, row.msg
		}
	}
	return http.StatusInternalServerError, "internal error"
}

// writeError answers with the error's status and JSON body, and logs 5xx
// errors with their internal text. A request whose client has gone away
// is logged at debug level only: nobody is left to answer.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		level := slog.LevelError
		if errors.Is(r.Context().Err(), context.Canceled) {
			level = slog.LevelDebug
		}
		h.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="advisor"`)
	}
	writeJSON(w, status, map[string]any{"error": msg})
}
