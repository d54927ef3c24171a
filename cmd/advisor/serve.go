package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/advisor"
)

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
	// memoryBudgetMiB bounds the bytes requests hold at once (advisor's
	// memory budget); memoryLimitMiB is the Go runtime's soft memory limit.
	memoryBudgetMiB, memoryLimitMiB int
	// shutdownGrace is how long in-flight requests (a streaming reply) get
	// to finish after SIGINT/SIGTERM before they are cut off.
	shutdownGrace time.Duration
	// instance names this process in the leases of its replies; leaseTTL
	// is how old another instance's lease must be to end its reply.
	instance string
	leaseTTL time.Duration
}

const serveLong = `Serve the advisor: its API and its web page.

environment:
  HWLAB_DATABASE_URL          the database the service uses (required unless --dev-db); may be a
                              transaction pooler (PgBouncer) with default_query_exec_mode=exec
  HWLAB_MIGRATE_DATABASE_URL  a role with DDL rights for the migrations at start, direct to PostgreSQL
                              (not a transaction pooler; default HWLAB_DATABASE_URL)
  ADVISOR_MODEL_URL           OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (Ollama)
  ADVISOR_MODEL               model name, e.g. llama3.1:8b
  ADVISOR_API_KEY             bearer key for the model endpoint (optional; OPENAI_API_KEY is never read)
  ADVISOR_SYSTEM_PROMPT       system prompt (optional)
  ADVISOR_TOKEN               bearer token the API requires (required beyond loopback)
  ADVISOR_ALLOWED_HOSTS       extra Host names to accept, comma-separated (reverse proxy, LAN DNS name)
  ADVISOR_THREAD_BUDGET       most characters of history sent to the model (default 48000)`

func newServeCmd(e env, serve serveFunc) *cobra.Command {
	o := serveOptions{shutdownGrace: 60 * time.Second}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the advisor (API and web page)",
		Long:  serveLong,
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.fromEnv(e); err != nil {
				return err
			}
			return serve(c.Context(), e, o)
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address; beyond loopback ADVISOR_TOKEN is required")
	fs.BoolVar(&o.noMigrate, "no-migrate", false, "do not migrate; refuse to start if the schema is behind")
	fs.BoolVar(&o.devDB, "dev-db", false, "when HWLAB_DATABASE_URL is unset, use the local dev PostgreSQL cluster in .dev/pg (what make run does): started if it is not running, shared with other processes that use it, stopped by the last one out")
	fs.IntVar(&o.memoryBudgetMiB, "memory-budget", advisor.DefaultMemoryBudget>>20, "MiB that requests in flight may hold together; a request beyond it is answered 503 with Retry-After")
	fs.IntVar(&o.memoryLimitMiB, "memory-limit", defaultMemoryLimitMiB, "the Go runtime's soft memory limit in MiB, so the garbage collector returns memory before RSS grows past it (GOMEMLIMIT, when set, wins); with the defaults RSS stays under 512 MiB")
	fs.StringVar(&o.instance, "instance", "", "this instance's name in the leases of its replies: unique among the instances on one database and the same across restarts, so a restart ends the replies a crash left (default: host name and port)")
	fs.DurationVar(&o.leaseTTL, "lease-ttl", advisor.DefaultLeaseTTL, "how long a reply's lease may go unrenewed before another instance ends it interrupted (its instance died)")
	fs.DurationVar(&o.shutdownGrace, "shutdown-grace", o.shutdownGrace, "how long in-flight requests and replies get after SIGINT/SIGTERM; replies still running then are stored interrupted")
	fs.StringVar(&o.systemPrompt, "system-prompt", e.getenv("ADVISOR_SYSTEM_PROMPT"), "system prompt sent first in every thread (default $ADVISOR_SYSTEM_PROMPT)")
	return c
}

// fromEnv completes o, whose flags are parsed, from the environment and
// checks the whole.
func (o *serveOptions) fromEnv(e env) error {
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return usagef("--addr %q: want host:port", o.addr)
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
			return usagef("ADVISOR_THREAD_BUDGET=%q: want a positive number of characters", b)
		}
		o.budget = n
	}
	if (o.modelURL == "") != (o.model == "") {
		return usagef("set both ADVISOR_MODEL_URL and ADVISOR_MODEL, or neither (then chat answers 503)")
	}
	if !advisor.IsLoopback(o.addr) && o.token == "" {
		return usagef("--addr %s is reachable beyond loopback: set ADVISOR_TOKEN (a long random string) so the API requires it", o.addr)
	}
	if o.memoryBudgetMiB < 1 || o.memoryLimitMiB < 1 {
		return usagef("--memory-budget and --memory-limit want a positive number of MiB")
	}
	// Below a second a lease outlives few flushes (every 250 ms), and a
	// sweep would run all the time.
	if o.leaseTTL < time.Second {
		return usagef("--lease-ttl %s: want 1s or more", o.leaseTTL)
	}
	if o.dsn == "" && !o.devDB {
		return usagef("HWLAB_DATABASE_URL is not set (make run, or advisor serve --dev-db, uses a local dev cluster instead)")
	}
	return nil
}

// defaultMemoryLimitMiB is serve's Go memory limit: the memory budget plus
// room for the runtime, the pools and the garbage the collector has yet to
// reclaim, below the 512 MiB of RSS the defaults promise.
const defaultMemoryLimitMiB = 384

func runServe(ctx context.Context, e env, o serveOptions) error {
	log := newLogger(e)
	// GOMEMLIMIT, when set, is the operator's word for the whole process.
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(o.memoryLimitMiB) << 20)
	}
	if o.dsn == "" {
		dev, err := startDevDB(ctx, log, e.secrets)
		if err != nil {
			return err
		}
		defer dev.close(log)
		o.dsn = dev.url
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	return serve(ctx, log, ln, o)
}

func newLogger(e env) *slog.Logger {
	// ReplaceAttr masks each value before the handler quotes it; e.stderr
	// masks the encoded line again, as the net under it.
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: e.secrets.ReplaceAttr}))
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
