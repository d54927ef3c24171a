// Package secret is the one place where passwords are masked, with one mask
// (Mask).
//
// The rule: a database URL is parsed once, where it enters (store.NewStore,
// the CLI's flags), and from then on code passes parsed configurations, so a
// password does not get into an error in the first place. What can still
// carry one (a driver's message about a malformed URL, a server log quoted
// in an error, a command line echoed by a usage error) goes through a Set:
//
//   - Set.Error masks an error's text and keeps errors.Is working on the
//     sentinels the original matched. It does not offer errors.As or Unwrap,
//     which would hand out the unmasked original.
//   - Set.Writer masks a stream (the CLI's stderr), as the net under the rest.
//   - Set.ReplaceAttr masks every slog attribute, message included, before
//     the handler encodes it: logs are masked at that one point, not at
//     each call.
package secret

import (
	"errors"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mask replaces every password.
const Mask = "xxxxx"

var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]*)`)

// Passwords lists the spellings in which dsn may carry a password, longest
// first: URL userinfo (raw, decoded and escaped), key=value pairs (quoted or
// not), and the text between the scheme's ':' and the last '@' of a URL too
// broken for net/url. pgx redacts what it can parse, but its parser is best
// effort on malformed input, so we mask these ourselves as well.
func Passwords(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if rest, ok := strings.CutPrefix(dsn, scheme); ok {
			if at := strings.LastIndex(rest, "@"); at > 0 {
				if colon := strings.Index(rest[:at], ":"); colon >= 0 {
					out = append(out, rest[colon+1:at])
				}
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
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	sortLongestFirst(out)
	return slices.Compact(out)
}

// Redact returns s with every spelling of dsn's password masked.
func Redact(dsn, s string) string {
	for _, p := range Passwords(dsn) {
		s = strings.ReplaceAll(s, p, Mask)
	}
	return s
}

// Set is the passwords a process has seen. The zero value is ready; a Set
// is safe for concurrent use. A nil *Set masks nothing.
type Set struct {
	mu        sync.Mutex
	spellings []string // longest first
}

// New returns a Set holding the passwords of dsns.
func New(dsns ...string) *Set {
	s := &Set{}
	for _, d := range dsns {
		s.Add(d)
	}
	return s
}

// Add records the password of dsn, if it carries one. It also records the
// spellings strconv.Quote gives a password holding '"' or '\', as a text
// encoder writes it inside quotes.
func (s *Set) Add(dsn string) {
	if s == nil || dsn == "" || !(strings.Contains(dsn, "://") || strings.Contains(dsn, "password")) {
		return
	}
	s.AddPassword(Passwords(dsn)...)
}

// AddPassword records passwords given on their own (a generated cluster
// password, say).
func (s *Set) AddPassword(ps ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		if p == "" {
			continue
		}
		s.spellings = append(s.spellings, p)
		if q := strconv.Quote(p); q[1:len(q)-1] != p {
			s.spellings = append(s.spellings, q[1:len(q)-1])
		}
	}
	sortLongestFirst(s.spellings)
	s.spellings = slices.Compact(s.spellings)
}

// AddArgs records every command-line argument that looks like a URL with a
// password or a key=value password, so that even a usage error echoing an
// argument is masked.
func (s *Set) AddArgs(args []string) {
	for _, a := range args {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = v
		}
		if u, err := url.Parse(a); (err == nil && u.User != nil) || strings.Contains(a, "password") {
			s.Add(a)
		}
	}
}

// String masks every recorded password in msg.
func (s *Set) String(msg string) string {
	if s == nil {
		return msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.spellings {
		msg = strings.ReplaceAll(msg, p, Mask)
	}
	return msg
}

// Error returns err with its text masked. The result still matches, with
// errors.Is, every target the original matched. It returns err itself when
// nothing needed masking, so errors.As keeps working on clean errors.
func (s *Set) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := s.String(msg); m != msg {
		return &maskedError{msg: m, err: err}
	}
	return err
}

// Error masks err with the passwords of dsns; see Set.Error.
func Error(err error, dsns ...string) error { return New(dsns...).Error(err) }

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string        { return e.msg }
func (e *maskedError) Is(target error) bool { return errors.Is(e.err, target) }

// Writer masks everything written through it. Each Write is masked on its
// own, so a password split across two writes is not caught: write whole
// lines.
func (s *Set) Writer(w io.Writer) io.Writer { return maskWriter{w, s} }

type maskWriter struct {
	w io.Writer
	s *Set
}

func (m maskWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.w, m.s.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that masks every string,
// error and Stringer attribute, and the message, before it is encoded.
func (s *Set) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if m := s.String(v.String()); m != v.String() {
			a.Value = slog.StringValue(m)
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(s.String(x.Error()))
		case interface{ String() string }:
			a.Value = slog.StringValue(s.String(x.String()))
		}
	}
	return a
}

func sortLongestFirst(ss []string) {
	// Longest first, so a spelling that contains another is masked whole.
	slices.SortStableFunc(ss, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
}
