//go:build integration

package advisor_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/internal/store"
)

// dbProxy forwards TCP connections to the test database, so a test can
// make the database unreachable (cut) or unresponsive (freeze) for its own
// store only, without touching the shared cluster.
type dbProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	frozen chan struct{} // closed: forward nothing more
	wg     sync.WaitGroup
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, frozen: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

// proxiedFixture is a fixture whose store reaches the database through a
// dbProxy.
func proxiedFixture(t *testing.T, opts ...store.Option) (*fixture, *dbProxy) {
	t.Helper()
	var p *dbProxy
	f := newFixtureVia(t, func(dsn string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		p = newDBProxy(t, u.Host)
		u.Host = p.ln.Addr().String()
		return u.String()
	}, nil, opts...)
	return f, p
}

func (p *dbProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies until either side closes, or stops reading once frozen.
func (p *dbProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			return // the bytes are dropped: the peer waits for an answer
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

// cut closes the listener and every connection: new connections are
// refused, open ones break.
func (p *dbProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// freeze keeps connections open but forwards nothing more: a database that
// hangs.
func (p *dbProxy) freeze() { close(p.frozen) }

// TestDatabaseUnavailable: with the database unreachable the API answers
// 503 "database unavailable" with Retry-After (the contract's status), not
// 500; likewise when it hangs and the store's per-operation timeout
// expires. Healthz agrees.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, f *fixture, id string, healthz bool) {
		t.Helper()
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/api/conversations", ""},
			{"GET", "/api/conversations/" + id, ""},
			{"POST", "/api/conversations/" + id + "/chat", `{"content":"hi"}`},
		} {
			r := f.do(req.method, req.path, req.body)
			if r.status != http.StatusServiceUnavailable || r.errorMsg(t) != "database unavailable; retry later" || r.header.Get("Retry-After") == "" {
				t.Errorf("%s %s: %d %s (Retry-After %q)", req.method, req.path, r.status, r.body, r.header.Get("Retry-After"))
			}
		}
		if healthz {
			if r := f.do("GET", "/healthz", ""); r.status != http.StatusServiceUnavailable {
				t.Errorf("healthz: %d %s", r.status, r.body)
			}
		}
		if !f.recs.has(slog.LevelError, slog.Int("status", http.StatusServiceUnavailable)) {
			t.Errorf("no 503 logged at ERROR:\n%s", f.logs.String())
		}
		if logs := f.logs.String(); strings.Contains(logs, pgtestdb.DefaultRolePassword) {
			t.Errorf("a password logged:\n%s", logs)
		}
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		f, p := proxiedFixture(t)
		id := f.create()
		p.cut()
		check(t, f, id, true)
	})
	t.Run("hangs past the store timeout", func(t *testing.T) {
		t.Parallel()
		// The timeout only bounds how long the hung calls wait; nothing
		// is asserted about time.
		f, p := proxiedFixture(t, store.WithTimeout(300*time.Millisecond))
		// Set-up runs under a deadline of its own, which wins over the
		// store's timeout: only the calls after the freeze get 300 ms.
		// (Through the API, a create that needed more than 300 ms on a
		// loaded machine would fail the test.)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		id, err := f.st.CreateConversation(ctx, "stub-model")
		if err != nil {
			t.Fatal(err)
		}
		p.freeze()
		check(t, f, id, false) // healthz has its own 5 s ping timeout
		p.cut()                // let the hung connections go before the store closes
	})
}
