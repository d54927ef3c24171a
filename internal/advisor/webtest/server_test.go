//go:build integration

package webtest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/store"
)

// startServer serves the advisor on a loopback port over the database at
// dsn, with model as its model, and returns the page's URL (ending in /).
// A non-empty token is required as the API's bearer token; a nil model
// serves with no model configured. model is the stub, or anything else
// that serves the OpenAI API at its BaseURL (a gate in front of the stub).
// It is the real handler, the one advisor serve runs, on a real listener:
// the browser talks HTTP to it like to a deployed server.
func startServer(t *testing.T, dsn string, model interface{ BaseURL() string }, token string) string {
	t.Helper()
	ctx := context.Background()
	logs := &testLog{t: t}
	t.Cleanup(logs.stop) // registered first, so it runs after the shutdown

	st, err := store.NewStore(ctx, dsn)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	var m advisor.Model // nil: no model configured
	if model != nil {
		m, err = advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: model.BaseURL()})
		if err != nil {
			t.Fatalf("model: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h, err := advisor.New(advisor.Config{
		Store:        st,
		Model:        m,
		DefaultModel: "llama3.1:8b",
		Addr:         ln.Addr().String(),
		Token:        token,
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		ln.Close()
		t.Fatalf("advisor.New: %v", err)
	}
	srv := &http.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shut the server down: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		// Generations belong to the server, not to the requests: wait for
		// the ones still running before the store closes.
		grace, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		h.Shutdown(grace)
	})
	return "http://" + ln.Addr().String() + "/"
}

// testLog sends the server's log lines to t.Log until the test ends; a line
// logged after that (a handler finishing late) is dropped, not a panic.
type testLog struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Log("server: " + strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}
