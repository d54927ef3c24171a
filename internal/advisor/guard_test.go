package advisor

import "testing"

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
