package main

import (
	"errors"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"git.georgsen.dk/hwlab/internal/secret"
)

// secrets collects every database URL the command was given, so that all
// output and the final error can be stripped of their passwords. Commands
// redact their errors themselves too; this is the net under them.
type secrets struct {
	mu   sync.Mutex
	dsns []string
	// quoted holds the passwords as strconv.Quote spells them inside the
	// quotes: slog's text handler writes a value with '"' or '\\' that way,
	// so a password holding either would not match literally in a log line.
	quoted []string
}

// newSecrets collects the secrets a run starts with: the database URLs of
// the environment (secretEnv) and the arguments that look like one.
func newSecrets(getenv func(string) string, args []string) *secrets {
	s := &secrets{}
	for _, k := range secretEnv {
		s.add(getenv(k))
	}
	s.addArgs(args)
	return s
}

// add records s if it can carry a password.
func (s *secrets) add(dsn string) {
	if dsn == "" || !(strings.Contains(dsn, "://") || strings.Contains(dsn, "password")) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dsns = append(s.dsns, dsn)
	for _, p := range secret.Passwords(dsn) {
		if q := strconv.Quote(p); p != "" && q[1:len(q)-1] != p {
			s.quoted = append(s.quoted, q[1:len(q)-1])
		}
	}
	// Longest first, so a spelling that contains another is masked whole.
	slices.SortFunc(s.quoted, func(a, b string) int { return len(b) - len(a) })
}

// addArgs records every argument that looks like a URL with a password, so
// that even a usage error echoing an argument is redacted.
func (s *secrets) addArgs(args []string) {
	for _, a := range args {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = v
		}
		if u, err := url.Parse(a); err == nil && u.User != nil {
			s.add(a)
		} else if strings.Contains(a, "password") {
			s.add(a)
		}
	}
}

func (s *secrets) redact(msg string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.quoted {
		msg = strings.ReplaceAll(msg, q, mask)
	}
	for _, d := range s.dsns {
		msg = secret.Redact(d, msg)
	}
	return msg
}

// mask replaces a password; the same as store.Redact's.
const mask = "xxxxx"

// redactedError keeps errors.Is working on the sentinel an error matched
// (errUsage picks the exit code) without exposing the original message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

func (s *secrets) redactErr(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: s.redact(err.Error()), err: err}
}

// redactWriter masks the passwords in everything written through it. Each
// Write is masked on its own; every line we print is one Write.
type redactWriter struct {
	w io.Writer
	s *secrets
}

func (r redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.s.redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
