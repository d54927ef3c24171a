package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
)

const serveUsage = `usage: advisor serve [--addr 127.0.0.1:8080] [--no-migrate] [--dev-db] [--system-prompt TEXT]

  --addr           listen address; beyond loopback ADVISOR_TOKEN is required
  --no-migrate     do not migrate; refuse to start if the schema is behind
  --dev-db         when HWLAB_DATABASE_URL is unset, start (or reuse) the
                   local dev PostgreSQL cluster in .dev/pg (what make run does)
  --system-prompt  system prompt sent first in every thread (default $ADVISOR_SYSTEM_PROMPT)

environment:
  HWLAB_DATABASE_URL          the database the service uses (required unless --dev-db)
  HWLAB_MIGRATE_DATABASE_URL  a role with DDL rights for the migrations at start (default HWLAB_DATABASE_URL)
  ADVISOR_MODEL_URL           OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (Ollama)
  ADVISOR_MODEL               model name, e.g. llama3.1:8b
  ADVISOR_API_KEY             bearer key for the model endpoint (optional; OPENAI_API_KEY is never read)
  ADVISOR_SYSTEM_PROMPT       system prompt (optional)
  ADVISOR_TOKEN               bearer token the API requires (required beyond loopback)
  ADVISOR_ALLOWED_HOSTS       extra Host names to accept, comma-separated (reverse proxy, LAN DNS name)
  ADVISOR_THREAD_BUDGET       most characters of history sent to the model (default 48000)
`

// serveOptions is serve's configuration, read once from flags and env.
type serveOptions struct {
	addr         string
	noMigrate    bool
	devDB        bool
	dsn          string // HWLAB_DATABASE_URL
	migrateDSN   string // HWLAB_MIGRATE_DATABASE_URL or dsn
	modelURL     string
	model        string
	apiKey       string
	systemPrompt string
	token        string
	allowedHosts []string
	budget       int
	// shutdownGrace is how long in-flight requests (a streaming reply) get
	// to finish after SIGINT/SIGTERM before they are cut off.
	shutdownGrace time.Duration
}

func parseServe(e env, args []string) (serveOptions, error) {
	fs := newFlags("serve")
	o := serveOptions{shutdownGrace: 60 * time.Second}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&o.noMigrate, "no-migrate", false, "only check the schema")
	fs.BoolVar(&o.devDB, "dev-db", false, "use the local dev cluster when HWLAB_DATABASE_URL is unset")
	fs.StringVar(&o.systemPrompt, "system-prompt", e.getenv("ADVISOR_SYSTEM_PROMPT"), "system prompt")
	pos, err := parse(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) != 0 {
		return o, usagef("serve takes no arguments\n\n%s", serveUsage)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, usagef("--addr %q: want host:port\n\n%s", o.addr, serveUsage)
	}
	o.dsn = e.getenv("HWLAB_DATABASE_URL")
	o.migrateDSN = e.getenv("HWLAB_MIGRATE_DATABASE_URL")
	o.modelURL = strings.TrimSpace(e.getenv("ADVISOR_MODEL_URL"))
	o.model = strings.TrimSpace(e.getenv("ADVISOR_MODEL"))
	o.apiKey = e.getenv("ADVISOR_API_KEY")
	o.token = e.getenv("ADVISOR_TOKEN")
	for _, h := range strings.Split(e.getenv("ADVISOR_ALLOWED_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			o.allowedHosts = append(o.allowedHosts, h)
		}
	}
	if b := e.getenv("ADVISOR_THREAD_BUDGET"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 {
			return o, usagef("ADVISOR_THREAD_BUDGET=%q: want a positive number of characters", b)
		}
		o.budget = n
	}
	if (o.modelURL == "") != (o.model == "") {
		return o, usagef("set both ADVISOR_MODEL_URL and ADVISOR_MODEL, or neither (then chat answers 503)")
	}
	if !advisor.IsLoopback(o.addr) && o.token == "" {
		return o, usagef("--addr %s is reachable beyond loopback: set ADVISOR_TOKEN (a long random string) so the API requires it", o.addr)
	}
	if o.dsn == "" && !o.devDB {
		return o, usagef("HWLAB_DATABASE_URL is not set (make run, or advisor serve --dev-db, uses a local dev cluster instead)")
	}
	return o, nil
}

func runServe(ctx context.Context, e env, args []string) error {
	o, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log := newLogger(e)
	if o.dsn == "" {
		dev, err := startDevDB(ctx, log)
		if err != nil {
			return err
		}
		defer dev.close(log)
		o.dsn = dev.url
		// Its superuser password is in both URLs; the net under the
		// redaction the code paths do themselves.
		e.secrets.add(dev.url)
		e.secrets.add(dev.cluster.URL("postgres"))
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	return serve(ctx, log, ln, o)
}

func newLogger(e env) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// modelFor builds the model client, or nil when none is configured.
func modelFor(o serveOptions) (advisor.Model, error) {
	if o.modelURL == "" {
		return nil, nil
	}
	m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: o.modelURL, APIKey: o.apiKey})
	if err != nil {
		return nil, errors.Join(errUsage, err)
	}
	return m, nil
}
