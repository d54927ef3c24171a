package store

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

const mask = "xxxxx"

var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]*)`)

// redact removes every spelling of dsn's password from msg. pgx already
// redacts what it can, but its parser is best effort on malformed input, so
// we remove the password ourselves as well.
func redact(dsn, msg string) string {
	for _, p := range passwords(dsn) {
		if len(p) > 0 {
			msg = strings.ReplaceAll(msg, p, mask)
		}
	}
	return msg
}

// Redact returns s with the password of dsn masked wherever it appears, for
// callers that print a URL or an error that may hold one.
func Redact(dsn, s string) string { return redact(dsn, s) }

// passwords lists the forms in which dsn may carry a password: URL userinfo
// (raw and decoded) and key=value pairs (quoted or not).
func passwords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	// A URL too broken for net/url: take what lies between the first ':'
	// after the scheme and the last '@'.
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok || strings.HasPrefix(dsn, "postgresql://") {
		if !ok {
			rest = strings.TrimPrefix(dsn, "postgresql://")
		}
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				out = append(out, rest[colon+1:at])
			}
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		out = append(out, v)
		if unq, ok := strings.CutPrefix(v, "'"); ok {
			out = append(out, strings.TrimSuffix(unq, "'"))
		}
	}
	// Longest first, so a password that contains another candidate is
	// masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
