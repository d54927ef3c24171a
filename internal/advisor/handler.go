package advisor

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

type handler struct {
	cfg       Config
	log       *slog.Logger
	tokenHash []byte // sha256 of Config.Token; nil when no token is required
	listenIP  net.IP // nil when listening on all interfaces
	port      string
	allowed   []allowedHost // Config.AllowedHosts, parsed
	budget    *memoryBudget
	gens      *generations
}

// Server is the advisor's http.Handler with the generations it runs:
// Shutdown ends them, Sweep ends the replies of instances that died.
type Server struct {
	http.Handler
	h *handler
}

// New returns the advisor's http.Handler: the JSON API under /api/, the
// health check at /healthz, the metrics at /metrics and the embedded page
// at / and /static/.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, log: cfg.Logger}
	h.gens = newGenerations(h)
	h.budget = newMemoryBudget(cfg.MemoryBudget, cfg.MaxBodyBytes, cfg.Store.MaxContentBytes())
	if err := h.init(); err != nil {
		return nil, err
	}
	if err := cfg.Metrics.register(cfg.Store); err != nil {
		return nil, fmt.Errorf("advisor: metrics: %w", err)
	}

	api := http.NewServeMux()
	// Every route runs under the memory budget (memory.go); those that
	// read a thread reserve a message's worth for as long as they run.
	const reads = true
	api.Handle("GET /api/config", h.limit(!reads, h.config))
	api.Handle("GET /api/conversations", h.limit(!reads, h.listConversations))
	api.Handle("POST /api/conversations", h.limit(!reads, h.createConversation))
	api.Handle("GET /api/conversations/{id}", h.limit(reads, h.getConversation))
	api.Handle("DELETE /api/conversations/{id}", h.limit(!reads, h.deleteConversation))
	// A switch of branch answers the new path: it reads a thread.
	api.Handle("PATCH /api/conversations/{id}", h.limit(reads, h.patchConversation))
	api.Handle("POST /api/conversations/{id}/messages", h.limit(!reads, h.addMessage))
	api.Handle("GET /api/search", h.limit(!reads, h.search))
	// A generation charges what it holds itself (generations.start), for
	// as long as it runs, and a reader of it holds a piece at a time (or
	// charges more when it reads another instance's reply from the store).
	api.Handle("POST /api/conversations/{id}/chat", h.limit(!reads, h.chat))
	api.Handle("POST /api/conversations/{id}/reply", h.limit(!reads, h.reply))
	api.Handle("POST /api/conversations/{id}/messages/{mid}/edit", h.limit(!reads, h.edit))
	api.Handle("POST /api/conversations/{id}/messages/{mid}/regenerate", h.limit(!reads, h.regenerate))
	api.Handle("GET /api/conversations/{id}/stream", h.limit(!reads, h.streamReply))
	api.Handle("POST /api/conversations/{id}/stop", h.limit(!reads, h.stopReply))
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such endpoint"})
	})

	mux := http.NewServeMux()
	mux.Handle("/api/", h.guard(api, true))
	mux.Handle("GET /healthz", h.guard(http.HandlerFunc(h.healthz), false))
	// The metrics name routes and counts, so they take the API's token.
	mux.Handle("GET /metrics", h.guard(cfg.Metrics.handler(), true))
	page, err := pageHandler()
	if err != nil {
		return nil, err
	}
	mux.Handle("/", h.guard(page, false))
	return &Server{Handler: cfg.Metrics.instrument(securityHeaders(mux)), h: h}, nil
}

// init derives what the guards compare against from the config.
func (h *handler) init() error {
	allowed, err := parseAllowedHosts(h.cfg.AllowedHosts)
	if err != nil {
		return err
	}
	h.allowed = allowed
	host, port, _ := net.SplitHostPort(h.cfg.Addr)
	h.port = port
	if host == "localhost" {
		h.listenIP = net.IPv4(127, 0, 0, 1)
	} else if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		h.listenIP = ip
	}
	if h.cfg.Token != "" {
		sum := sha256.Sum256([]byte(h.cfg.Token))
		h.tokenHash = sum[:]
	}
	return nil
}

// healthz: 200 when the database answers within 5 s (Store.Health), else
// 503.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := h.cfg.Store.Health(ctx); err != nil {
		h.log.Error("health check: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// config tells a client what the server can do before it asks for it: the
// page warns up front that no model is configured, instead of at the first
// send.
func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"model_configured": h.cfg.Model != nil,
		"default_model":    h.cfg.DefaultModel,
	})
}

// securityHeaders: the page loads only its own files and is never framed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

// Shutdown waits for the generations in flight until ctx is done, then
// ends the rest interrupted, their text flushed, and returns once every
// one is stored. Requests are the http.Server's to end.
func (s *Server) Shutdown(ctx context.Context) { s.h.gens.shutdown(ctx) }

// Recover ends, interrupted with their text up to the last flush, the
// replies this instance's previous run left streaming: it was killed. Call
// it before serving, so that none of them is a live generation of its own.
func (s *Server) Recover(ctx context.Context) (int, error) {
	return s.h.cfg.Store.SweepInterrupted(ctx, s.h.cfg.LeaseTTL, s.h.cfg.Instance)
}

// Sweep ends, interrupted, the replies of any instance whose lease is
// older than LeaseTTL (by the database's clock), every LeaseTTL/2 until
// ctx is done: an instance that died mid-reply and does not come back.
func (s *Server) Sweep(ctx context.Context) {
	tick := time.NewTicker(max(s.h.cfg.LeaseTTL/2, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := s.h.cfg.Store.SweepInterrupted(ctx, s.h.cfg.LeaseTTL, "")
		if err != nil && ctx.Err() == nil {
			s.h.log.Warn("sweep of interrupted replies failed; will retry", "err", err)
		}
		if n > 0 {
			s.h.log.Info("replies of a lost instance ended interrupted", "count", n)
		}
	}
}
