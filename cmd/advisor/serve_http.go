package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
)

// serve runs the service on ln until ctx is done, then shuts down
// gracefully: the listener closes at once, in-flight requests and
// replies get o.shutdownGrace to finish, and only then are the rest cut
// off (replies still running are stored interrupted, with their text). Tests call it with their own listener.
func serve(ctx context.Context, log *slog.Logger, ln net.Listener, o serveOptions) error {
	defer ln.Close()
	dir, err := migrate.EmbeddedDir()
	if err != nil {
		return err
	}
	if err := prepareSchema(ctx, log, o, dir); err != nil {
		return err
	}
	// The service's own pool (the store's defaults), not the commands'
	// small one; NewStore's errors hold no password.
	metrics := advisor.NewMetrics()
	st, err := store.NewStore(ctx, o.dsn, metrics.StoreOption())
	if err != nil {
		return err
	}
	defer st.Close()
	model, err := modelFor(o)
	if err != nil {
		return err
	}
	h, err := advisor.New(advisor.Config{
		Store: st, Model: model, DefaultModel: o.model, SystemPrompt: o.systemPrompt,
		ThreadBudget: o.budget, Addr: ln.Addr().String(), AllowedHosts: o.allowedHosts,
		Token: o.token, Logger: log, MemoryBudget: int64(o.memoryBudgetMiB) << 20,
		Instance: o.instance, LeaseTTL: o.leaseTTL, Metrics: metrics,
	})
	if err != nil {
		return err
	}
	if n, err := h.Recover(ctx); err != nil {
		log.Warn("could not end the replies a previous run left streaming; the sweep will", "err", err)
	} else if n > 0 {
		log.Info("replies left streaming by the previous run ended interrupted", "count", n)
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	go h.Sweep(sweepCtx)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		// Long enough for a non-streamed reply from a slow model; streams
		// clear their write deadline.
		WriteTimeout: 15 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if model == nil {
		log.Warn("no model configured: chat answers 503 until ADVISOR_MODEL_URL and ADVISOR_MODEL are set")
	} else {
		log.Info("model configured", "model_url", withoutUserinfo(o.modelURL), "model", o.model, "api_key_set", o.apiKey != "")
	}
	log.Info("serving", "url", "http://"+ln.Addr().String()+"/", "token_required", o.token != "")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", o.shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer cancel()
	// Replies still running at the end of the grace period are flushed and
	// stored interrupted (h.Shutdown); their readers then send that end and
	// leave, so the requests get a moment more than the grace period. With
	// the same deadline, the connections were closed before the readers
	// had written their last event.
	hctx, hcancel := context.WithTimeout(context.Background(), o.shutdownGrace+readersEndGrace)
	defer hcancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(hctx) }()
	h.Shutdown(sctx)
	if err := <-shut; err != nil {
		log.Warn("grace period over: closing the remaining connections", "err", err)
		_ = srv.Close()
	}
	<-errc
	log.Info("stopped")
	return nil
}

// readersEndGrace is the moment the readers of replies that ended at the
// end of the grace period get to send that end. It bounds the wait; a
// reader whose reply has ended leaves at once.
const readersEndGrace = 2 * time.Second

// withoutUserinfo drops credentials a base URL may carry before it is logged.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
