package advisor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// TestErrorTable: every sentinel, wrapped the way callers wrap it, maps to
// its status and a fixed message that does not repeat the error's text.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	want := map[error]int{
		store.ErrNotFound:        http.StatusNotFound,
		store.ErrInvalidRole:     http.StatusBadRequest,
		store.ErrInvalidContent:  http.StatusBadRequest,
		store.ErrContentTooLarge: http.StatusRequestEntityTooLarge,
		store.ErrInvalidModel:    http.StatusBadRequest,
		store.ErrInvalidTitle:    http.StatusBadRequest,
		store.ErrInvalidCursor:   http.StatusBadRequest,
		store.ErrInvalidLimit:    http.StatusBadRequest,
		errBadRequest:            http.StatusBadRequest,
		errUnauthorized:          http.StatusUnauthorized,
		errForbidden:             http.StatusForbidden,
		errNotUserTurn:           http.StatusConflict,
		errTooLarge:              http.StatusRequestEntityTooLarge,
		errMediaType:             http.StatusUnsupportedMediaType,
		ErrNoModel:               http.StatusServiceUnavailable,
		ErrModelFailed:           http.StatusBadGateway,
	}
	if len(want) != len(errorTable) {
		t.Fatalf("table has %d rows, test knows %d", len(errorTable), len(want))
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
	for _, err := range []error{errors.New("pq: password=hunter2 failed"), context.Canceled} {
		if got, msg := statusOf(err); got != 500 || msg != "internal error" {
			t.Errorf("%v: %d %q", err, got, msg)
		}
	}
	if got, msg := statusOf(badRequest(`missing field "title"`)); got != 400 || msg != `missing field "title"` {
		t.Errorf("clientError: %d %q", got, msg)
	}
}
