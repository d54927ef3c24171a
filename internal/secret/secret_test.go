package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ dsn, secret string }{
		{"postgres://u:s3cr%40t@h/db", "s3cr@t"},
		{"postgres://u:s3cr%40t@h/db", "s3cr%40t"},
		{"host=h password=s3cret dbname=x", "s3cret"},
		{"host=h password='s3 cret' dbname=x", "s3 cret"},
		{"postgres://u:s3cret@[::1/db", "s3cret"},
		{"postgresql://u:s3cret@[::1/db", "s3cret"},
	}
	for _, c := range cases {
		msg := "failed: " + c.dsn + " / " + c.secret
		if got := Redact(c.dsn, msg); strings.Contains(got, c.secret) || !strings.Contains(got, Mask) {
			t.Errorf("Redact(%q) = %q: secret left or nothing masked", c.dsn, got)
		}
	}
}

// A masked error keeps matching its sentinels, however deep they are
// wrapped, and loses the password.
func TestErrorKeepsSentinels(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("checksum mismatch")
	dsn := "postgres://u:hunter2@h/db"
	cases := []struct {
		name string
		err  error
		is   []error
	}{
		{"direct", fmt.Errorf("open %s: %w", dsn, sentinel), []error{sentinel}},
		{"two levels", fmt.Errorf("serve: %w", fmt.Errorf("migrate %s: %w", dsn, sentinel)), []error{sentinel}},
		{"joined", errors.Join(fmt.Errorf("a %s", dsn), fs.ErrNotExist, sentinel), []error{sentinel, fs.ErrNotExist}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := Error(c.err, dsn)
			if strings.Contains(got.Error(), "hunter2") {
				t.Fatalf("password left: %q", got)
			}
			for _, target := range c.is {
				if !errors.Is(got, target) {
					t.Errorf("errors.Is(%q, %v) = false after masking", got, target)
				}
			}
			if errors.Is(got, errors.ErrUnsupported) {
				t.Errorf("masked error matches a sentinel the original did not")
			}
		})
	}
	clean := fmt.Errorf("no secret here: %w", sentinel)
	if got := Error(clean, dsn); got != clean {
		t.Errorf("an error with nothing to mask was replaced: %v", got)
	}
}

// slog is masked at one point, ReplaceAttr, for the message, strings,
// errors and grouped attributes, with both text and JSON encoders (which
// quote a password holding '"' differently).
func TestReplaceAttr(t *testing.T) {
	t.Parallel()
	const pw = `pa"ss\word`
	s := New("postgres://u:" + strings.NewReplacer(`"`, "%22", `\`, "%5C").Replace(pw) + "@h/db")
	for _, kind := range []string{"text", "json"} {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{ReplaceAttr: s.ReplaceAttr}
		var h slog.Handler = slog.NewTextHandler(&buf, opts)
		if kind == "json" {
			h = slog.NewJSONHandler(&buf, opts)
		}
		slog.New(h).WithGroup("g").Error("failed with "+pw, "err", errors.New("x "+pw), "s", pw, "n", 3)
		out := buf.String()
		if strings.Contains(out, "ss\\word") || strings.Contains(out, `ss\\word`) || strings.Count(out, Mask) != 3 {
			t.Errorf("%s: want 3 masks and no password: %s", kind, out)
		}
	}
}

func TestWriterAndArgs(t *testing.T) {
	t.Parallel()
	s := &Set{}
	s.AddArgs([]string{"--url=postgres://u:topsecret@h/db", "host=h password=kvsecret", "plain", "--addr", "127.0.0.1:1"})
	var buf bytes.Buffer
	fmt.Fprintf(s.Writer(&buf), "topsecret kvsecret plain 127.0.0.1:1\n")
	if got, want := buf.String(), Mask+" "+Mask+" plain 127.0.0.1:1\n"; got != want {
		t.Errorf("Writer wrote %q, want %q", got, want)
	}
	var nilSet *Set
	if got := nilSet.String("topsecret"); got != "topsecret" {
		t.Errorf("nil Set changed text: %q", got)
	}
}
