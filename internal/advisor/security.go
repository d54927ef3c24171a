package advisor

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// guard wraps the API with the checks every request passes, cheapest and
// least revealing first: Host (DNS rebinding), Origin (cross-site
// requests), bearer token, Content-Type of state-changing requests, and the
// body size limit.
func (h *handler) guard(next http.Handler, needToken bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.hostAllowed(r.Host) {
			h.writeError(w, r, &clientError{errForbidden, "forbidden: Host " + quoteHost(r.Host) + " is not this server's address"})
			return
		}
		if !h.originAllowed(r) {
			h.writeError(w, r, &clientError{errForbidden, "forbidden: cross-origin request"})
			return
		}
		if needToken && h.tokenHash != nil && !h.tokenOK(r) {
			h.writeError(w, r, errUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				h.writeError(w, r, errMediaType)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// allowedHost is one Config.AllowedHosts entry: "name", "name:port", or
// with the scheme the browser uses to reach that name,
// "https://name[:port]" (a proxy that terminates TLS).
type allowedHost struct {
	scheme     string // "" when the entry names none: http
	host, port string // port "" matches any port
}

// parseAllowedHosts checks the entries once, so a typo fails at start
// instead of silently answering 403.
func parseAllowedHosts(entries []string) ([]allowedHost, error) {
	out := make([]allowedHost, 0, len(entries))
	for _, e := range entries {
		a := allowedHost{}
		hostport := e
		if strings.Contains(e, "://") {
			u, err := url.Parse(e)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return nil, fmt.Errorf("advisor: allowed host %q: want name, name:port or http(s)://name[:port]", e)
			}
			a.scheme, hostport = u.Scheme, u.Host
		}
		a.host, a.port = hostAndPort(hostport)
		if a.host == "" || strings.ContainsAny(a.host, "/@ ") {
			return nil, fmt.Errorf("advisor: allowed host %q: no host name", e)
		}
		out = append(out, a)
	}
	return out, nil
}

// match reports whether a Host header's host and port (as hostAndPort
// gives them) are this entry; a port left out is the entry's scheme's
// default.
func (a allowedHost) match(host, port string) bool {
	return strings.EqualFold(a.host, host) && (a.port == "" || a.port == withDefaultPort(port, a.scheme))
}

// hostAllowed: a DNS-rebinding page reaches us under the attacker's host
// name, so a Host must be one we are served as: the listen address, a
// loopback name when listening on loopback, any IP literal when listening
// on all interfaces, or a configured AllowedHosts name. The port must be
// the listen port unless the name is in AllowedHosts (a proxy may differ).
func (h *handler) hostAllowed(hostport string) bool {
	host, port := hostAndPort(hostport)
	for _, a := range h.allowed {
		if a.match(host, port) {
			return true
		}
	}
	if withDefaultPort(port, "http") != h.port {
		return false
	}
	ip := net.ParseIP(host)
	switch {
	case h.listenIP == nil: // all interfaces
		return ip != nil || strings.EqualFold(host, "localhost")
	case h.listenIP.IsLoopback():
		return (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost")
	default:
		return ip != nil && ip.Equal(h.listenIP)
	}
}

// hostAndPort splits "host:port", "[v6]:port", "host" or "[v6]"; the port
// is "" when absent, as a browser omits the scheme's default port.
func hostAndPort(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
}

// withDefaultPort is port, or the scheme's default when it is "".
func withDefaultPort(port, scheme string) string {
	switch {
	case port != "":
		return port
	case scheme == "https":
		return "443"
	default:
		return "80"
	}
}

// scheme is the scheme the browser used to reach this server, which its
// Origin must carry: https when this server terminated TLS; else the one an
// AllowedHosts entry names for the Host (a proxy terminating TLS in front
// of us, "https://advisor.lan"); else http. X-Forwarded-Proto is not
// trusted: any client can send it.
func (h *handler) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	host, port := hostAndPort(r.Host)
	for _, a := range h.allowed {
		if a.scheme != "" && a.match(host, port) {
			return a.scheme
		}
	}
	return "http"
}

// originAllowed: a request without an Origin is not a browser's
// cross-site one (browsers send it on every cross-origin request); one
// with an Origin must come from this server's own page.
func (h *handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || sameOrigin(origin, h.scheme(r), r.Host)
}

// sameOrigin: browsers send Origin on cross-origin requests and on every
// POST/PATCH/DELETE; the page's own requests carry exactly
// scheme://host[:port], the scheme it reached us by and the Host it asked
// for. So the scheme, host and port must all be equal, a port left out
// being the scheme's default (80, 443); an Origin with userinfo, a path, a
// query or a fragment is no browser's and fails, as does "null" (sandboxed
// frames, file:).
func sameOrigin(origin, scheme, hostport string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != scheme || u.User != nil || u.Opaque != "" || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return false
	}
	host, port := hostAndPort(hostport)
	return strings.EqualFold(u.Hostname(), host) && withDefaultPort(u.Port(), scheme) == withDefaultPort(port, scheme)
}

// tokenOK compares hashes in constant time, so neither the token's bytes
// nor its length leak through timing.
func (h *handler) tokenOK(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return false
	}
	sum := sha256.Sum256([]byte(auth[len(prefix):]))
	return subtle.ConstantTimeCompare(sum[:], h.tokenHash) == 1
}

func quoteHost(h string) string {
	if len(h) > 64 {
		h = h[:64] + "…"
	}
	return "\"" + strings.ToValidUTF8(h, "?") + "\""
}
