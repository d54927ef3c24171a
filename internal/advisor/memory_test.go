package advisor

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func budgetHandler(total int64) *handler {
	const maxBody, maxContent = 1000, 100
	return &handler{
		cfg:    Config{MaxBodyBytes: maxBody},
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		budget: newMemoryBudget(total, maxBody, maxContent),
	}
}

// TestMemoryBudgetCharge: what a request reserves, by its body and by
// whether it reads a thread.
func TestMemoryBudgetCharge(t *testing.T) {
	t.Parallel()
	b := budgetHandler(1 << 30).budget
	read := b.readCharge // (EscapeFactor+2) × the content limit
	chunked := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	chunked.ContentLength = -1
	for _, tt := range []struct {
		name  string
		req   *http.Request
		reads bool
		want  int64
	}{
		{"GET", httptest.NewRequest("GET", "/", nil), false, minCharge},
		{"GET of a thread", httptest.NewRequest("GET", "/", nil), true, minCharge + read},
		{"body of 50 bytes", httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 50))), false, minCharge + 150},
		{"chat body of 50 bytes", httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 50))), true, minCharge + 150 + read},
		{"body of unknown length", chunked, false, minCharge + 3000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := b.charge(tt.req, tt.reads); got != tt.want {
				t.Errorf("charge = %d, want %d", got, tt.want)
			}
		})
	}
	if small := budgetHandler(10).budget; small.charge(httptest.NewRequest("GET", "/", nil), true) != 10 {
		t.Error("a charge over the whole budget is not capped at it")
	}
}

// TestMemoryBudgetLimit: a request that does not fit while another holds
// the budget is a 503 with Retry-After and its handler never runs; the
// budget is back once the holder returns; a body declared over the limit
// is a 413 before anything is read.
func TestMemoryBudgetLimit(t *testing.T) {
	t.Parallel()
	h := budgetHandler(minCharge + 3000)
	hold, held := make(chan struct{}), make(chan struct{})
	ran := 0
	wrapped := h.limit(false, func(w http.ResponseWriter, r *http.Request) {
		ran++
		if r.URL.Path == "/hold" {
			close(held)
			<-hold
		}
		w.WriteHeader(http.StatusNoContent)
	})
	post := func(path string, n int) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		wrapped.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(strings.Repeat("x", n))))
		return rec
	}
	holder := make(chan *httptest.ResponseRecorder)
	go func() { holder <- post("/hold", 1000) }() // the whole budget
	<-held

	busy := post("/", 10)
	if busy.Code != http.StatusServiceUnavailable || busy.Header().Get("Retry-After") != busyRetryAfter || !strings.Contains(busy.Body.String(), "server busy") {
		t.Errorf("while the budget is held: %d %q %s", busy.Code, busy.Header().Get("Retry-After"), busy.Body)
	}
	close(hold)
	if rec := <-holder; rec.Code != http.StatusNoContent {
		t.Errorf("holder: %d", rec.Code)
	}
	if rec := post("/", 1000); rec.Code != http.StatusNoContent {
		t.Errorf("after the holder returned: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/", 1001); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared over the body limit: %d", rec.Code)
	}
	if ran != 2 {
		t.Errorf("the handler ran %d times, want 2 (the holder, the request after it)", ran)
	}
}
