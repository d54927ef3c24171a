package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/secret"
)

// TestParseServe: configuration mistakes are usage errors (exit 2) that
// say what to set; a good configuration parses.
func TestParseServe(t *testing.T) {
	t.Parallel()
	base := map[string]string{"HWLAB_DATABASE_URL": "postgres://u:pw@db/x"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the error; "" means success
	}{
		{"defaults", nil, nil, ""},
		{"dev db without a URL", []string{"--dev-db"}, map[string]string{"HWLAB_DATABASE_URL": ""}, ""},
		{"no database", nil, map[string]string{"HWLAB_DATABASE_URL": ""}, "HWLAB_DATABASE_URL is not set"},
		{"beyond loopback without token", []string{"--addr", "0.0.0.0:8080"}, nil, "ADVISOR_TOKEN"},
		{"LAN address without token", []string{"--addr", "192.168.1.5:8080"}, nil, "ADVISOR_TOKEN"},
		{"beyond loopback with token", []string{"--addr", "0.0.0.0:8080"}, map[string]string{"ADVISOR_TOKEN": "t"}, ""},
		{"model URL alone", nil, map[string]string{"ADVISOR_MODEL_URL": "http://x/v1"}, "ADVISOR_MODEL"},
		{"model alone", nil, map[string]string{"ADVISOR_MODEL": "m"}, "ADVISOR_MODEL_URL"},
		{"bad budget", nil, map[string]string{"ADVISOR_THREAD_BUDGET": "lots"}, "ADVISOR_THREAD_BUDGET"},
		{"bad addr", []string{"--addr", "8080"}, nil, "host:port"},
		{"stray argument", []string{"now"}, nil, "no arguments"},
		{"lease shorter than a second", []string{"--lease-ttl", "500ms"}, nil, "--lease-ttl"},
		{"lease of a second", []string{"--lease-ttl", "1s"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			o, err := parseServe(env2(env), tt.args)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseServe = %+v, %v; want a usage error mentioning %q", o, err, tt.want)
			}
		})
	}
	o, err := parseServe(env2(map[string]string{
		"HWLAB_DATABASE_URL": "a", "HWLAB_MIGRATE_DATABASE_URL": "b", "ADVISOR_MODEL_URL": "http://m/v1", "ADVISOR_MODEL": "llama",
		"ADVISOR_SYSTEM_PROMPT": "be brief", "ADVISOR_ALLOWED_HOSTS": "advisor.lan, proxy:443", "ADVISOR_THREAD_BUDGET": "1000",
	}), []string{"--no-migrate", "--system-prompt", "flag wins"})
	if err != nil || o.addr != "127.0.0.1:8080" || !o.noMigrate || o.migrateDSN != "b" || o.systemPrompt != "flag wins" ||
		len(o.allowedHosts) != 2 || o.allowedHosts[1] != "proxy:443" || o.budget != 1000 || o.model != "llama" {
		t.Fatalf("parseServe = %+v, %v", o, err)
	}
}

func env2(m map[string]string) env {
	return env{getenv: func(k string) string { return m[k] }, stdout: io.Discard, stderr: io.Discard, secrets: &secret.Set{}}
}

// parseServe runs `advisor serve args` through the whole command line and
// returns the options serve would have started with.
func parseServe(e env, args []string) (o serveOptions, err error) {
	capture := func(_ context.Context, _ env, got serveOptions) error { o = got; return nil }
	err = execute(context.Background(), newRootCmd(e, capture), append([]string{"serve"}, args...))
	return o, err
}
