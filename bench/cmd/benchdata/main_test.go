//go:build integration

package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func noEnv(string) string { return "" }

func TestRunLoads(t *testing.T) {
	t.Parallel()
	for _, schema := range []string{"migrated", "original"} {
		t.Run(schema, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.Empty(t)
			var stderr bytes.Buffer
			args := []string{"--url", dsn, "--schema", schema, "--conversations", "20", "--messages", "2"}
			if err := run(context.Background(), args, noEnv, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "loaded 20 conversations of 2 messages") {
				t.Errorf("stderr does not report the load:\n%s", stderr.String())
			}
			u, _ := url.Parse(dsn)
			if pw, ok := u.User.Password(); ok && strings.Contains(stderr.String(), pw) {
				t.Error("stderr shows the password")
			}
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var convs, msgs int
			if err := conn.QueryRow(context.Background(),
				"SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)").Scan(&convs, &msgs); err != nil {
				t.Fatal(err)
			}
			// 20 of 2, plus threads of 2, 100 and 10 000 messages.
			if convs != 23 || msgs != 40+2+100+10_000 {
				t.Errorf("%d conversations, %d messages", convs, msgs)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{}, // no URL anywhere
		{"--url", "postgres://x@127.0.0.1:1/x", "--schema", "nosuch"}, // refused before connecting
		{"--nosuchflag"},
	} {
		if err := run(context.Background(), args, noEnv, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
