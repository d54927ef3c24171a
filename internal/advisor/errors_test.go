package advisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestErrorTable: every sentinel, wrapped the way callers wrap it, maps to
// its status and a fixed message that does not repeat the error's text.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	want := map[error]int{
		store.ErrNotFound:          http.StatusNotFound,
		store.ErrInvalidRole:       http.StatusBadRequest,
		store.ErrInvalidContent:    http.StatusBadRequest,
		store.ErrContentTooLarge:   http.StatusRequestEntityTooLarge,
		store.ErrInvalidModel:      http.StatusBadRequest,
		store.ErrInvalidTitle:      http.StatusBadRequest,
		store.ErrInvalidQuery:      http.StatusBadRequest,
		store.ErrInvalidCursor:     http.StatusBadRequest,
		store.ErrInvalidLimit:      http.StatusBadRequest,
		store.ErrWrongRole:         http.StatusBadRequest,
		store.ErrOtherConversation: http.StatusBadRequest,
		errBadRequest:              http.StatusBadRequest,
		errUnauthorized:            http.StatusUnauthorized,
		errForbidden:               http.StatusForbidden,
		store.ErrNotAwaitingReply:  http.StatusConflict,
		store.ErrGenerationRunning: http.StatusConflict,
		store.ErrNoGeneration:      http.StatusConflict,
		errTooLarge:                http.StatusRequestEntityTooLarge,
		errMediaType:               http.StatusUnsupportedMediaType,
		ErrNoModel:                 http.StatusServiceUnavailable,
		ErrModelFailed:             http.StatusBadGateway,
		errBusy:                    http.StatusServiceUnavailable,
		store.ErrStatementCache:    http.StatusServiceUnavailable,
	}
	if len(want)+1 != len(errorTable) { // +1: the database row, below
		t.Fatalf("table has %d rows, test knows %d", len(errorTable), len(want)+1)
	}
	for sentinel, status := range want {
		err := fmt.Errorf("store: op on postgres://u:pw@db/x: %w", sentinel)
		got, msg := statusOf(err)
		if got != status || msg == "" || msg == err.Error() {
			t.Errorf("%v: %d %q, want %d and a fixed message", sentinel, got, msg, status)
		}
	}
	// The store's too-large error also wraps ErrInvalidContent: 413 wins.
	if got, _ := statusOf(fmt.Errorf("%w: %w", store.ErrInvalidContent, store.ErrContentTooLarge)); got != 413 {
		t.Errorf("too large content: %d", got)
	}
	for _, err := range []error{
		errors.New("pq: password=hunter2 failed"),
		context.Canceled,
		// The client went away during a connect: not the database's fault.
		fmt.Errorf("store: list: %w: %w", store.ErrUnavailable, context.Canceled),
	} {
		if got, msg := statusOf(err); got != 500 || msg != "internal error" || rowOf(err).retryAfter != "" {
			t.Errorf("%v: %d %q", err, got, msg)
		}
	}
	// The database unreachable or too slow, as the store says it
	// (ErrUnavailable; which driver errors mean that is the store's test,
	// TestUnavailable): 503 with Retry-After. A model's connection failure
	// stays a 502, and a bare network or timeout error that the store did
	// not mark is not the database's.
	for _, err := range []error{
		fmt.Errorf("store: list: %w: %w (timeout)", store.ErrUnavailable, context.DeadlineExceeded),
		fmt.Errorf("store: list: %w: %w", store.ErrUnavailable, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}),
		fmt.Errorf("store: connect: %w", store.ErrUnavailable),
	} {
		got, msg := statusOf(err)
		if got != http.StatusServiceUnavailable || msg != "database unavailable; retry later" || rowOf(err).retryAfter == "" {
			t.Errorf("%v: %d %q", err, got, msg)
		}
	}
	modelDown := fmt.Errorf("%w: %w", ErrModelFailed, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	if got, _ := statusOf(modelDown); got != http.StatusBadGateway {
		t.Errorf("model unreachable: %d, want 502", got)
	}
	if got, _ := statusOf(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}); got != http.StatusInternalServerError {
		t.Errorf("unmarked network error: %d, want 500", got)
	}
	if got, msg := statusOf(badRequest(`missing field "title"`)); got != 400 || msg != `missing field "title"` {
		t.Errorf("clientError: %d %q", got, msg)
	}
}

// TestMessageNotFound: a route that names a message says so in its 404,
// and other errors pass as they are.
func TestMessageNotFound(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("store: edit message: %w", store.ErrNotFound)
	if got, msg := statusOf(messageNotFound(err)); got != http.StatusNotFound || msg != "conversation or message not found" {
		t.Errorf("message not found: %d %q", got, msg)
	}
	other := fmt.Errorf("store: edit message: %w", store.ErrWrongRole)
	if got := messageNotFound(other); got != other {
		t.Errorf("messageNotFound changed %v into %v", other, got)
	}
}
