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
	ErrModelFailed  = errors.New("advisor: model failed")
	errBadRequest   = errors.New("advisor: bad request")
	errTooLarge     = errors.New("advisor: request body too large")
	errMediaType    = errors.New("advisor: content type must be application/json")
	errForbidden    = errors.New("advisor: forbidden")
	errUnauthorized = errors.New("advisor: unauthorized")
)

// errorTable is the one mapping from error to HTTP status and the message a
// client sees. A row matches by errors.Is on err, or by match when set.
// Order matters only where one error wraps two sentinels:
// ErrContentTooLarge also matches ErrInvalidContent, so it comes first. A
// model's connection failure and the database's no longer share a row
// (the database row matches the store's ErrUnavailable, never a
// *net.OpError), so their order is free. Messages are fixed
// strings: the error's own text may hold internal detail and never reaches
// a client, except for clientError, whose text the handler wrote for the
// client. Anything unmatched is a 500 "internal error".
var errorTable = []errorRow{
	{err: store.ErrNotFound, status: http.StatusNotFound, msg: "conversation not found"},
	{err: store.ErrContentTooLarge, status: http.StatusRequestEntityTooLarge, msg: "content too large"},
	{err: store.ErrInvalidContent, status: http.StatusBadRequest, msg: "invalid content: NUL bytes and invalid UTF-8 are not allowed"},
	{err: store.ErrInvalidRole, status: http.StatusBadRequest, msg: "invalid role: want user, assistant or system"},
	{err: store.ErrInvalidModel, status: http.StatusBadRequest, msg: "invalid model name"},
	{err: store.ErrInvalidTitle, status: http.StatusBadRequest, msg: "invalid title: too long, or NUL bytes or invalid UTF-8"},
	{err: store.ErrInvalidQuery, status: http.StatusBadRequest, msg: "invalid search query: q must be 1 to 1024 bytes of text, without NUL bytes"},
	{err: store.ErrInvalidCursor, status: http.StatusBadRequest, msg: "invalid cursor"},
	{err: store.ErrWrongRole, status: http.StatusBadRequest, msg: "wrong role: edit takes a user message, regenerate an assistant message"},
	{err: store.ErrOtherConversation, status: http.StatusBadRequest, msg: "the message belongs to another conversation"},
	{err: store.ErrInvalidLimit, status: http.StatusBadRequest, msg: "invalid limit: want 1..100"},
	{err: errBadRequest, status: http.StatusBadRequest, msg: "bad request"},
	{err: errUnauthorized, status: http.StatusUnauthorized, msg: "missing or wrong bearer token"},
	{err: errForbidden, status: http.StatusForbidden, msg: "forbidden"},
	{err: store.ErrNotAwaitingReply, status: http.StatusConflict, msg: "nothing to reply to: the last message is neither the user's nor a reply that did not complete"},
	{err: store.ErrGenerationRunning, status: http.StatusConflict, msg: "a reply is being generated in this conversation: follow it at /stream or end it at /stop"},
	{err: store.ErrNoGeneration, status: http.StatusConflict, msg: "no reply in flight"},
	{err: errTooLarge, status: http.StatusRequestEntityTooLarge, msg: "request body too large"},
	{err: errMediaType, status: http.StatusUnsupportedMediaType, msg: "Content-Type must be application/json"},
	{err: ErrNoModel, status: http.StatusServiceUnavailable, expected: true, msg: "no model configured: set ADVISOR_MODEL_URL (an OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1) and ADVISOR_MODEL, then restart"},
	{err: ErrModelFailed, status: http.StatusBadGateway, msg: "the model failed; retry"},
	// A misconfiguration, not an outage: retrying does not help, the URL does.
	{err: store.ErrStatementCache, status: http.StatusServiceUnavailable, msg: "database misconfigured: a transaction-mode pooler (PgBouncer before 1.21) needs default_query_exec_mode=exec in HWLAB_DATABASE_URL"},
	{match: dbUnavailable, status: http.StatusServiceUnavailable, msg: "database unavailable; retry later", retryAfter: dbRetryAfter},
	{err: errBusy, status: http.StatusServiceUnavailable, msg: "server busy: too much data in flight; retry shortly", retryAfter: busyRetryAfter},
}

type errorRow struct {
	err        error
	match      func(error) bool // instead of errors.Is(_, err) when set
	status     int
	msg        string
	retryAfter string // the Retry-After header, when set
	// expected marks a 5xx that is the configured behaviour, not a fault
	// (no model: serve warned once at start-up). It is logged at debug, so
	// every send does not repeat the warning at ERROR.
	expected bool
}

func (row errorRow) matches(err error) bool {
	if row.match != nil {
		return row.match(err)
	}
	return errors.Is(err, row.err)
}

// dbRetryAfter is the Retry-After (seconds) of a 503 for an unreachable
// database: long enough for a restarting PostgreSQL, short for a person.
const dbRetryAfter = "5"

// dbUnavailable reports whether a store error means the database could not
// be reached or did not answer in time; the store decides (ErrUnavailable),
// as only it knows the driver. A cancelled context is not: that is the
// client going away (or the server stopping), nobody to tell to retry.
func dbUnavailable(err error) bool {
	return errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.Canceled)
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

// messageNotFound words the 404 of a route that names a message as well as
// a conversation: the store's ErrNotFound does not say which of the two it
// did not find (or could not parse).
func messageNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &clientError{err, "conversation or message not found"}
	}
	return err
}

// statusOf returns the status and the client's message for err.
func statusOf(err error) (int, string) {
	row := rowOf(err)
	if ce := (*clientError)(nil); row.err != nil && errors.As(err, &ce) {
		return row.status, ce.msg
	}
	return row.status, row.msg
}

// rowOf is err's row of the error table, or the 500 row.
func rowOf(err error) errorRow {
	for _, row := range errorTable {
		if row.matches(err) {
			return row
		}
	}
	return errorRow{status: http.StatusInternalServerError, msg: "internal error"}
}

// writeError answers with the error's status and JSON body, and logs 5xx
// errors with their internal text. A request whose client has gone away
// is logged at debug level only: nobody is left to answer.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if ra := rowOf(err).retryAfter; ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	if status >= 500 {
		level := slog.LevelError
		if rowOf(err).expected || errors.Is(r.Context().Err(), context.Canceled) {
			level = slog.LevelDebug
		}
		h.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="advisor"`)
	}
	body := map[string]any{"error": msg}
	if re := (*store.RunningError)(nil); errors.As(err, &re) {
		body["message_id"] = re.MessageID // the reply to follow or stop
	}
	writeJSON(w, status, body)
}
