package advisor

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	t.Parallel()
	mk := func(addr string, allowed ...string) *handler {
		h := &handler{cfg: Config{Addr: addr, AllowedHosts: allowed}}
		h.init()
		return h
	}
	tests := []struct {
		addr    string
		allowed []string
		host    string
		ok      bool
	}{
		{"127.0.0.1:8080", nil, "127.0.0.1:8080", true},
		{"127.0.0.1:8080", nil, "localhost:8080", true},
		{"127.0.0.1:8080", nil, "[::1]:8080", true},
		{"127.0.0.1:8080", nil, "evil.example:8080", false},
		{"127.0.0.1:8080", nil, "127.0.0.1:9090", false},
		{"127.0.0.1:8080", nil, "127.0.0.1", false},
		{"192.168.1.5:8080", nil, "192.168.1.5:8080", true},
		{"192.168.1.5:8080", nil, "127.0.0.1:8080", false},
		{"192.168.1.5:8080", []string{"advisor.lan"}, "advisor.lan", true},
		{"192.168.1.5:8080", []string{"advisor.lan:443"}, "advisor.lan:8080", false},
		{"0.0.0.0:8080", nil, "10.0.0.7:8080", true},
		{"0.0.0.0:8080", nil, "rebind.evil.example:8080", false},
		{":8080", nil, "[fe80::1]:8080", true},
	}
	for _, tt := range tests {
		if got := mk(tt.addr, tt.allowed...).hostAllowed(tt.host); got != tt.ok {
			t.Errorf("listen %s allowed %v: Host %q = %v, want %v", tt.addr, tt.allowed, tt.host, got, tt.ok)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "192.168.1.5:80": false, "junk": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

// TestOriginAllowed: an Origin passes only with this server's scheme, the
// Host's host and its port (a left-out port is the scheme's default), and
// nothing else in it.
func TestOriginAllowed(t *testing.T) {
	t.Parallel()
	const local = "127.0.0.1:8080"
	tests := []struct {
		name, addr string
		allowed    []string
		tls        bool
		host       string
		origin     string
		ok         bool
	}{
		{"no Origin", local, nil, false, local, "", true},
		{"same origin", local, nil, false, local, "http://127.0.0.1:8080", true},
		{"https to a plain-http server", local, nil, false, local, "https://127.0.0.1:8080", false},
		{"userinfo", local, nil, false, local, "http://evil@127.0.0.1:8080", false},
		{"user and password", local, nil, false, local, "http://a:b@127.0.0.1:8080", false},
		{"different port", local, nil, false, local, "http://127.0.0.1:9090", false},
		{"port left out (80)", local, nil, false, local, "http://127.0.0.1", false},
		{"other host", local, nil, false, local, "http://evil.example:8080", false},
		{"localhost page to the IP", local, nil, false, local, "http://localhost:8080", false},
		{"localhost to localhost, any case", local, nil, false, "localhost:8080", "http://LocalHost:8080", true},
		{"IPv6", "[::1]:8080", nil, false, "[::1]:8080", "http://[::1]:8080", true},
		{"IPv6 other port", "[::1]:8080", nil, false, "[::1]:8080", "http://[::1]:8081", false},
		{"trailing slash", local, nil, false, local, "http://127.0.0.1:8080/", false},
		{"path", local, nil, false, local, "http://127.0.0.1:8080/x", false},
		{"query", local, nil, false, local, "http://127.0.0.1:8080?", false},
		{"fragment", local, nil, false, local, "http://127.0.0.1:8080#f", false},
		{"null", local, nil, false, local, "null", false},
		{"no scheme", local, nil, false, local, "127.0.0.1:8080", false},
		{"websocket scheme", local, nil, false, local, "ws://127.0.0.1:8080", false},
		{"file", local, nil, false, local, "file://", false},
		{"garbage", local, nil, false, local, "http://[::1", false},
		{"control character", local, nil, false, local, "http://127.0.0.1:8080\x00", false},
		{"default port left out of both", "0.0.0.0:80", nil, false, "10.0.0.7", "http://10.0.0.7", true},
		{"default port in the Origin only", "0.0.0.0:80", nil, false, "10.0.0.7", "http://10.0.0.7:80", true},
		{"default port in the Host only", "0.0.0.0:80", nil, false, "10.0.0.7:80", "http://10.0.0.7", true},
		{"this server's TLS", local, nil, true, local, "https://127.0.0.1:8080", true},
		{"http page to this server's TLS", local, nil, true, local, "http://127.0.0.1:8080", false},
		{"proxy name, http", local, []string{"advisor.lan"}, false, "advisor.lan", "http://advisor.lan", true},
		{"proxy name, https not declared", local, []string{"advisor.lan"}, false, "advisor.lan", "https://advisor.lan", false},
		{"TLS proxy", local, []string{"https://advisor.lan"}, false, "advisor.lan", "https://advisor.lan", true},
		{"TLS proxy, explicit 443", local, []string{"https://advisor.lan"}, false, "advisor.lan", "https://advisor.lan:443", true},
		{"TLS proxy, http page", local, []string{"https://advisor.lan"}, false, "advisor.lan", "http://advisor.lan", false},
		{"TLS proxy's scheme is not the listen address's", local, []string{"https://advisor.lan"}, false, local, "https://127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &handler{cfg: Config{Addr: tt.addr, AllowedHosts: tt.allowed}}
			if err := h.init(); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/api/conversations", nil)
			r.Host = tt.host
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if !h.hostAllowed(tt.host) {
				t.Fatalf("Host %q is not allowed: the case tests nothing", tt.host)
			}
			if got := h.originAllowed(r); got != tt.ok {
				t.Fatalf("Origin %q to Host %q (tls %v, allowed %v) = %v, want %v", tt.origin, tt.host, tt.tls, tt.allowed, got, tt.ok)
			}
		})
	}
}

// TestAllowedHostsRejected: an entry that is no host name fails New
// instead of never matching.
func TestAllowedHostsRejected(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"ftp://advisor.lan", "https://u@advisor.lan", "https://advisor.lan/x", "https://", "a b", "evil@advisor.lan"} {
		h := &handler{cfg: Config{Addr: "127.0.0.1:8080", AllowedHosts: []string{e}}}
		if err := h.init(); err == nil {
			t.Errorf("%q accepted", e)
		}
	}
	h := &handler{cfg: Config{Addr: "127.0.0.1:8080", AllowedHosts: []string{"advisor.lan", "proxy:443", "https://advisor.lan:8443", "[fd00::1]"}}}
	if err := h.init(); err != nil {
		t.Errorf("good entries: %v", err)
	}
}
