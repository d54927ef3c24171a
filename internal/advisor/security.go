package advisor

import (
	"crypto/sha256"
	"crypto/subtle"
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
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
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

// hostAllowed: a DNS-rebinding page reaches us under the attacker's host
// name, so a Host must be one we are served as: the listen address, a
// loopback name when listening on loopback, any IP literal when listening
// on all interfaces, or a configured AllowedHosts name. The port must be
// the listen port unless the name is in AllowedHosts (a proxy may differ).
func (h *handler) hostAllowed(hostport string) bool {
	host, port := splitHost(hostport)
	for _, a := range h.cfg.AllowedHosts {
		ah, ap := splitHost(a)
		if strings.EqualFold(ah, host) && (ap == "" || ap == port) {
			return true
		}
	}
	if port != h.port {
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

// splitHost splits "host:port", "[v6]:port", "host" or "[v6]"; the port is
// "80" when absent, as a browser omits it for http on 80.
func splitHost(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), "80"
}

// sameOrigin: browsers send Origin on cross-origin requests and on every
// POST/PATCH/DELETE; the page's own requests carry its own scheme://host,
// which is the Host it asked for. "null" (sandboxed frames, file:) fails.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
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
