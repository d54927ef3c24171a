//go:build integration

package advisor_test

import (
	"net/http"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/store"
)

// TestErrorStatuses drives each error class through HTTP and checks the
// status, the JSON error body, and that nothing was stored.
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *advisor.Config) { c.MaxBodyBytes = 4096 }, store.WithMaxContentBytes(100))
	id := f.create()
	addr := f.srv.Listener.Addr().String()
	port := addr[strings.LastIndex(addr, ":")+1:]
	unknown := "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11"
	msgs := "/api/conversations/" + id + "/messages"
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
	}{
		{"unknown id", "GET", "/api/conversations/" + unknown, "", nil, 404},
		{"malformed id", "GET", "/api/conversations/not-a-uuid", "", nil, 404},
		{"append to unknown", "POST", "/api/conversations/" + unknown + "/messages", `{"role":"user","content":"x"}`, nil, 404},
		{"chat to unknown", "POST", "/api/conversations/" + unknown + "/chat", `{"content":"x"}`, nil, 404},
		{"unknown endpoint", "GET", "/api/nope", "", nil, 404},
		{"unknown field", "POST", msgs, `{"role":"user","content":"x","extra":1}`, nil, 400},
		{"bad JSON", "POST", msgs, `{"role":`, nil, 400},
		{"trailing data", "POST", msgs, `{"role":"user","content":"x"} {}`, nil, 400},
		{"not an object", "POST", msgs, `[1]`, nil, 400},
		{"missing field", "POST", msgs, `{"role":"user"}`, nil, 400},
		{"invalid role", "POST", msgs, `{"role":"tool","content":"x"}`, nil, 400},
		{"NUL in content", "POST", msgs, `{"role":"user","content":"a\u0000b"}`, nil, 400},
		{"invalid model", "POST", "/api/conversations", `{"model":"` + strings.Repeat("m", 300) + `"}`, nil, 400},
		{"bad limit", "GET", "/api/conversations?limit=0", "", nil, 400},
		{"non-numeric limit", "GET", "/api/conversations?limit=x", "", nil, 400},
		{"bad cursor", "GET", "/api/conversations?cursor=bogus", "", nil, 400},
		{"content over the store limit", "POST", msgs, `{"role":"user","content":"` + strings.Repeat("x", 101) + `"}`, nil, 413},
		{"body over the limit", "POST", msgs, `{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}`, nil, 413},
		{"no content type", "POST", msgs, `{"role":"user","content":"x"}`, []string{"Content-Type", ""}, 415},
		{"form content type", "POST", msgs, `role=user`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"text/plain delete", "DELETE", "/api/conversations/" + id, "", []string{"Content-Type", "text/plain"}, 415},
		{"rebinding Host", "GET", "/api/conversations", "", []string{"Host", "evil.example:" + port}, 403},
		{"wrong port Host", "GET", "/api/conversations", "", []string{"Host", "127.0.0.1:1"}, 403},
		{"rebinding Host on the page", "GET", "/", "", []string{"Host", "evil.example"}, 403},
		{"cross-site Origin", "POST", msgs, `{"role":"user","content":"x"}`, []string{"Origin", "http://evil.example"}, 403},
		{"https Origin to plain http", "POST", msgs, `{"role":"user","content":"x"}`, []string{"Origin", "https://" + addr}, 403},
		{"Origin with userinfo", "POST", msgs, `{"role":"user","content":"x"}`, []string{"Origin", "http://evil@" + addr}, 403},
		{"null Origin", "POST", msgs, `{"role":"user","content":"x"}`, []string{"Origin", "null"}, 403},
		{"cross-site GET", "GET", "/api/conversations", "", []string{"Origin", "http://evil.example"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.method, tt.path, tt.body, tt.hdr...)
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.path != "/" {
				msg := r.errorMsg(t)
				if strings.Contains(msg, "store:") || strings.Contains(msg, "pgtdb") {
					t.Errorf("internal detail in %q", msg)
				}
			}
		})
	}
	if n := len(f.thread(id)); n != 0 {
		t.Errorf("%d messages stored by rejected requests", n)
	}
	// Same-origin and loopback aliases pass.
	for _, hdr := range [][]string{
		{"Origin", "http://" + addr},
		{"Host", strings.Replace(addr, "127.0.0.1", "localhost", 1)},
	} {
		if r := f.do("POST", msgs, `{"role":"user","content":"ok"}`, hdr...); r.status != http.StatusCreated {
			t.Errorf("%v: %d %s", hdr, r.status, r.body)
		}
	}
}

// TestToken: with a token configured every /api request needs it; the
// page and /healthz do not.
func TestToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *advisor.Config) { c.Token = "s3cret-token" })
	for _, tt := range []struct {
		name, auth string
		status     int
	}{
		{"none", "", 401},
		{"wrong", "Bearer s3cret-tokem", 401},
		{"prefix only", "Bearer s3cret", 401},
		{"basic", "Basic czNjcmV0LXRva2Vu", 401},
		{"right", "Bearer s3cret-token", 200},
	} {
		r := f.do("GET", "/api/conversations", "", "Authorization", tt.auth)
		if r.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
		if tt.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate", tt.name)
		}
	}
	if r := f.do("POST", "/api/conversations", `{}`); r.status != 401 {
		t.Errorf("create without token: %d", r.status)
	}
	for _, p := range []string{"/", "/healthz"} {
		if r := f.do("GET", p, ""); r.status != 200 {
			t.Errorf("%s without token: %d", p, r.status)
		}
	}
}
