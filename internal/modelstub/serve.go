package modelstub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// The `advisor dev-model` subcommand fills Options from its flags and
// calls ListenAndServe with a context that ends on SIGINT/SIGTERM. Its
// intended help:
//
//	advisor dev-model: a stand-in model for trying the advisor without a GPU.
//	An OpenAI-compatible chat-completions endpoint that streams an echo of
//	the last user message (or a canned or numbered reply) at a chosen rate.
//	Point the advisor at it:
//	  ADVISOR_MODEL_URL=http://127.0.0.1:8081/v1 ADVISOR_MODEL=stub make run
//
//	Usage: advisor dev-model [flags]
//	  --addr string    listen address (default "127.0.0.1:8081")
//	  --rate float     tokens per second, 0 = as fast as possible (default 20)
//	  --reply string   answer every message with this text (default: echo it)
//	  --numbered       answer "1 2 3 … N", N from --tokens
//	  --tokens int     reply length in tokens: repeat or cut the reply (0 = as it is)
//	  --model string   model name the answers report (default: the one asked for)
//
// Flag errors (--reply with --numbered, --numbered without --tokens, a
// negative --rate) come back from ListenAndServe before it listens, as
// Options.Validate's error: a usage error (exit 2).

// DefaultAddr is where `advisor dev-model` listens: loopback, beside the
// advisor's 8080 (Ollama's 11434 is left alone, so both can run).
const DefaultAddr = "127.0.0.1:8081"

// DefaultRate is `advisor dev-model`'s default pace in tokens per second:
// slow enough to watch a reply stream in, fast enough not to wait long.
const DefaultRate = 20

// shutdownGrace bounds how long a stopping server waits for its streams.
// They end at once (their contexts derive from the server's), so it is
// only reached if a client stops reading mid-write.
const shutdownGrace = 5 * time.Second

// ListenAndServe serves the stub on addr (host:port; DefaultAddr for the
// dev-model command) until ctx ends, then stops, ending the streams in
// flight, and returns nil. Options are checked before it listens. With a
// Logger it logs the base URL to configure (ADVISOR_MODEL_URL).
func ListenAndServe(ctx context.Context, addr string, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("modelstub: %w", err)
	}
	return Serve(ctx, ln, opts)
}

// Serve is ListenAndServe on a listener of the caller's, which it closes.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	h, err := NewHandler(opts)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Every request's context ends with ctx, so a stream stops as soon
		// as the server is told to.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	h.log.Info("model stub: listening", "url", "http://"+ln.Addr().String()+"/v1", "rate", opts.Rate)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("modelstub: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("modelstub: stopping: %w", err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("modelstub: %w", serr)
	}
	return err
}
