//go:build integration

package advisor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
	"git.georgsen.dk/hwlab/internal/pgcluster/pgfault"
	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

// logSignal passes records on to next and closes seen at the first whose
// message is msg: a test waits on it instead of sleeping.
type logSignal struct {
	slog.Handler
	msg  string
	seen chan struct{}
	once *sync.Once // handlers run on many goroutines
}

func (l logSignal) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == l.msg {
		l.once.Do(func() { close(l.seen) })
	}
	return l.Handler.Handle(ctx, r)
}

func (l logSignal) WithAttrs(as []slog.Attr) slog.Handler {
	l.Handler = l.Handler.WithAttrs(as)
	return l
}

func (l logSignal) WithGroup(name string) slog.Handler {
	l.Handler = l.Handler.WithGroup(name)
	return l
}

// TestReplySurvivesDatabaseRestart: PostgreSQL stops (fast shutdown)
// mid-reply, while the model goes on streaming, and starts again. The
// reader gets every token meanwhile, the flushes that failed are retried,
// and the reply is stored complete with exactly the text the model sent,
// once.
func TestReplySurvivesDatabaseRestart(t *testing.T) {
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	// 600 numbered tokens at 50 a second: the model is still streaming
	// when the server has stopped, and long after.
	stub := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: 600, Rate: 50})
	t.Cleanup(stub.Close)
	t.Cleanup(stub.Release)
	full := modelstub.NumberedText(600)
	flushFailed := make(chan struct{})
	// The fixture's own database is left unused: its store goes to the
	// private cluster, the one this test may stop.
	f := newFixtureVia(t, func(string) string { return cluster.URL("postgres") }, func(c *advisor.Config) {
		m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.BaseURL()})
		if err != nil {
			t.Fatal(err)
		}
		c.Model = m
		c.Logger = slog.New(logSignal{Handler: c.Logger.Handler(), msg: "flush of a reply failed; will retry", seen: flushFailed, once: new(sync.Once)})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := store.RunMigrations(ctx, f.st.DB()); err != nil {
		t.Fatal(err)
	}
	id := f.create()

	stub.SetMode(modelstub.HoldMidStream)
	sse := f.openStream(ctx, "/api/conversations/"+id+"/chat", `{"content":"count"}`)
	var text string
	readToken := func() event {
		t.Helper()
		ev, ok := sse.next()
		for ok && ev.name != "token" && ev.name != "done" && ev.name != "error" {
			ev, ok = sse.next()
		}
		if ev.name == "token" {
			var d struct {
				Delta string `json:"delta"`
			}
			if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
				t.Fatal(err)
			}
			text += d.Delta
		}
		return ev
	}
	if ev := readToken(); ev.name != "token" {
		t.Fatalf("first event %+v, want a token", ev)
	}
	// The first flush is a write no event announces: poll the store for
	// it (the deadline only bounds a broken run).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		ms := f.thread(id)
		if r := ms[len(ms)-1]; r.Role == store.RoleAssistant && r.Content != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flush stored: %+v", f.thread(id))
		}
	}
	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stub.Release()
	<-flushFailed // the generation went on with the database away
	before := len(text)
	if ev := readToken(); ev.name != "token" || len(text) == before {
		t.Fatalf("with the database away: %+v, want more tokens", ev)
	}
	if err := pgfault.Restart(ctx, cluster); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	ev := readToken()
	for ev.name == "token" {
		ev = readToken()
	}
	var done message
	if ev.name != "done" || json.Unmarshal([]byte(ev.data), &done) != nil || done.Status != store.StatusComplete || done.Content != full {
		t.Fatalf("end of the stream: %s %.200s, want done, complete with the %d bytes sent", ev.name, ev.data, len(full))
	}
	if text != full {
		t.Errorf("the reader got %d bytes, want the %d the model sent", len(text), len(full))
	}
	ms := f.thread(id)
	if roles(ms) != "user,assistant" || ms[1].Content != full || ms[1].ID != done.ID {
		t.Fatalf("stored %s, reply of %d bytes; want user,assistant with the %d bytes sent", roles(ms), len(ms[1].Content), len(full))
	}
}
