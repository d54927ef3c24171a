package main

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// TestSecretsNet: the masking net under stderr and the final error covers
// the migration role's URL too, and catches a password in the escaped
// spelling slog's text handler gives values holding '"' or '\'.
func TestSecretsNet(t *testing.T) {
	t.Parallel()
	const owner, app = `0wn"er\pw`, `4pp-pw"`
	u := func(user, pw string) string {
		return (&url.URL{Scheme: "postgres", User: url.UserPassword(user, pw), Host: "127.0.0.1:5432", Path: "/hwlab"}).String()
	}
	vars := map[string]string{
		"HWLAB_DATABASE_URL":         u("app", app),
		"HWLAB_MIGRATE_DATABASE_URL": u("owner", owner),
	}
	sec := newSecrets(func(k string) string { return vars[k] }, nil)

	// Both points that mask a log: the stream under stderr (the net) and
	// the logger's ReplaceAttr (newLogger), each on its own.
	var viaWriter, viaAttr bytes.Buffer
	for _, log := range []*slog.Logger{
		slog.New(slog.NewTextHandler(sec.Writer(&viaWriter), nil)),
		newLogger(env{stderr: &viaAttr, secrets: sec}),
	} {
		log.Error("migrate failed", "err", "server said: password "+owner+" rejected", "other", "app password is "+app)
		log.Info("plain", "dsn", vars["HWLAB_MIGRATE_DATABASE_URL"])
	}
	err := sec.Error(errors.New("connect " + vars["HWLAB_MIGRATE_DATABASE_URL"] + ": " + owner))

	for _, out := range []string{viaWriter.String(), viaAttr.String(), err.Error()} {
		for _, leak := range []string{"0wn", "4pp-pw"} {
			if strings.Contains(out, leak) {
				t.Errorf("output holds a password (%q):\n%s", leak, out)
			}
		}
		if !strings.Contains(out, "xxxxx") {
			t.Errorf("nothing masked, so nothing was tested:\n%s", out)
		}
	}
	// Data is not secrets' business, but masking must not eat what is
	// around a password.
	for _, buf := range []*bytes.Buffer{&viaWriter, &viaAttr} {
		if !strings.Contains(buf.String(), "rejected") || !strings.Contains(buf.String(), `msg="migrate failed"`) {
			t.Errorf("log line mangled:\n%s", buf.String())
		}
	}
}
