// Package modelstub is a fake OpenAI-compatible chat-completions server:
// the advisor's handler tests, the browser test and the benchmarks run
// against it instead of a real model, and `advisor dev-model` serves it so
// the service can be tried end to end on a machine without a GPU.
//
// It answers POST /v1/chat/completions in JSON or, with "stream": true, as
// Server-Sent Events chunks, and GET /v1/models. The reply is an echo of
// the last user message, a canned text, or numbered tokens ("1 2 3 …", so
// a test can see that a replay is exact), streamed at a chosen rate. A
// "token" is one chunk: a word with its leading space. With
// stream_options.include_usage it ends with the usage chunk (empty choices
// and a usage object), as OpenAI does; its counts are words, not a real
// tokenizer's.
//
// New starts an httptest server for tests, which can also fail on demand
// (SetMode) and records what it received; NewHandler and ListenAndServe
// serve it for real, recording nothing, so memory stays flat however long
// it runs.
package modelstub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode selects how the stub answers the next requests.
type Mode int

const (
	// Normal answers with the configured reply.
	Normal Mode = iota
	// Fail500 answers HTTP 500 with an OpenAI-style error body.
	Fail500
	// FailMidStream streams the first half of the reply's chunks, then
	// breaks the connection without a [DONE]. In JSON mode it is Fail500.
	FailMidStream
	// HoldFirstToken sends response headers (streaming) and then waits for
	// Release (or the client to go away) before sending anything else: a
	// model that is still loading.
	HoldFirstToken
	// HoldMidStream streams the first chunk, then waits for Release or the
	// client to go away: lets a test cut the client off mid-reply.
	HoldMidStream
	// EndEarly ends the answer cleanly but incomplete, the way a model
	// server that gives up (or a proxy that cuts a response at a chunk
	// boundary) looks: streaming, the first half of the chunks and then the
	// end of the body, with no finish_reason and no [DONE]; in JSON mode, a
	// well-formed completion of the first half whose finish_reason is null.
	EndEarly
	// FinishLength answers the whole reply but with finish_reason "length",
	// as a model stopped by its max-tokens setting does.
	FinishLength
)

// Options says what the stub answers and how fast. The zero value echoes
// as fast as possible, which is what tests want.
type Options struct {
	// Reply is a canned reply sent to every request; "" echoes the last
	// user message ("echo: …").
	Reply string
	// Numbered replies "1 2 3 … Tokens", one number a token.
	Numbered bool
	// Tokens is the reply's length in tokens: the canned or echoed reply
	// is repeated or cut to it, 0 leaves it as it is. Numbered needs it.
	Tokens int
	// Rate is tokens per second; 0 sends them as fast as possible. Token
	// i goes out i/Rate seconds after the first; a JSON answer comes when
	// the last token would have.
	Rate float64
	// Model is the model name the answers report and /v1/models lists; ""
	// reports the name each request asked for.
	Model string
	// Logger gets one line per request; nil logs nothing.
	Logger *slog.Logger
}

// Validate reports the first option that cannot be served.
func (o Options) Validate() error {
	switch {
	case o.Numbered && o.Reply != "":
		return errors.New("modelstub: a canned reply and numbered tokens exclude each other")
	case o.Numbered && o.Tokens <= 0:
		return errors.New("modelstub: numbered tokens need a length in tokens (> 0)")
	case o.Tokens < 0:
		return fmt.Errorf("modelstub: reply length %d tokens: want 0 (as it is) or more", o.Tokens)
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return fmt.Errorf("modelstub: rate %v tokens/s: want 0 (as fast as possible) or more", o.Rate)
	}
	return nil
}

// replyFunc is the reply the options ask for, before Tokens shapes it.
func (o Options) replyFunc() func([]Message) string {
	switch {
	case o.Numbered:
		text := NumberedText(o.Tokens)
		return func([]Message) string { return text }
	case o.Reply != "":
		return func([]Message) string { return o.Reply }
	default:
		return Echo
	}
}

// Message is one chat message as the stub received it.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is what the stub recorded of one chat-completions request.
type Request struct {
	Model         string
	Messages      []Message
	Stream        bool
	IncludeUsage  bool   // stream_options.include_usage
	Authorization string // the Authorization header, verbatim
	Path          string
}

// Handler is the stub as an http.Handler. Its zero value is not usable;
// call NewHandler.
type Handler struct {
	opts   Options
	log    *slog.Logger
	record bool // keep every Request (tests only: it grows without bound)

	mu       sync.Mutex
	mode     Mode
	reply    func([]Message) string
	requests []Request
	release  chan struct{}
	held     chan struct{} // closed when a request reaches a hold point
	heldOnce *sync.Once
}

// NewHandler returns the stub as a handler, for a server of the caller's.
func NewHandler(opts Options) (*Handler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		opts: opts, log: log, reply: opts.replyFunc(),
		release: make(chan struct{}), held: make(chan struct{}), heldOnce: new(sync.Once),
	}, nil
}

// Server is a stub on an httptest server. Its zero value is not usable;
// call New or NewWith.
type Server struct {
	*httptest.Server
	*Handler
}

// New starts a stub that echoes as fast as possible. Close it when done
// (t.Cleanup(s.Close)).
func New() *Server { return NewWith(Options{}) }

// NewWith starts a stub with the given options; it panics on options that
// Validate refuses, as httptest does when it cannot listen.
func NewWith(opts Options) *Server {
	h, err := NewHandler(opts)
	if err != nil {
		panic(err)
	}
	h.record = true
	return &Server{Server: httptest.NewServer(h), Handler: h}
}

// Echo is the default reply: "echo: " and the last user message's content.
func Echo(msgs []Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return "echo: " + msgs[i].Content
		}
	}
	return "echo: (no user message)"
}

// NumberedText is the reply of Options{Numbered: true, Tokens: n}:
// "1 2 3 … n", whose tokens are "1", " 2", " 3", … " n".
func NumberedText(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// BaseURL is what to configure as the model's base URL (it ends in /v1, as
// Ollama's does).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// SetMode changes how later requests are answered and re-arms Held.
func (h *Handler) SetMode(m Mode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mode = m
	h.release = make(chan struct{})
	h.held = make(chan struct{})
	h.heldOnce = new(sync.Once)
}

// SetReply replaces the reply function (Options.Tokens still shapes it).
func (h *Handler) SetReply(f func([]Message) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reply = f
}

// Held is closed once a request in a Hold mode has reached its hold point
// (headers or first chunk flushed): synchronisation for tests, not a sleep.
func (h *Handler) Held() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// Release lets held requests continue. Safe to call more than once.
func (h *Handler) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

// Requests returns a copy of every request a New or NewWith stub received
// so far (a NewHandler stub records none).
func (h *Handler) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

type chatRequest struct {
	Model         string    `json:"model"`
	Messages      []Message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// maxRequestBytes bounds a request body, so a stub left running cannot be
// made to hold more than this per request.
const maxRequestBytes = 64 << 20

// answer is one request's reply, decided when it arrives.
type answer struct {
	model        string   // the name reported
	parts        []string // the tokens
	promptTokens int
	includeUsage bool
	mode         Mode
	release      chan struct{}
	markHeld     func()
	pace         pacer
}

// ServeHTTP answers the OpenAI chat-completions and models endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		h.models(w)
		return
	case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
		writeError(w, http.StatusNotFound, "unknown endpoint "+r.Method+" "+r.URL.Path)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	a := answer{model: req.Model, includeUsage: req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage, pace: newPacer(h.opts.Rate)}
	if h.opts.Model != "" {
		a.model = h.opts.Model
	}
	for _, m := range req.Messages {
		a.promptTokens += len(strings.Fields(m.Content))
	}
	h.mu.Lock()
	if h.record {
		h.requests = append(h.requests, Request{
			Model: req.Model, Messages: req.Messages, Stream: req.Stream, IncludeUsage: a.includeUsage,
			Authorization: r.Header.Get("Authorization"), Path: r.URL.Path,
		})
	}
	a.mode, a.release = h.mode, h.release
	a.parts = shape(chunks(h.reply(req.Messages)), h.opts.Tokens)
	held, once := h.held, h.heldOnce
	h.mu.Unlock()
	a.markHeld = func() { once.Do(func() { close(held) }) }
	h.log.Info("model stub: request", "model", req.Model, "messages", len(req.Messages), "stream", req.Stream,
		"include_usage", a.includeUsage, "reply_tokens", len(a.parts))

	switch {
	case a.mode == Fail500 || (a.mode == FailMidStream && !req.Stream):
		writeError(w, http.StatusInternalServerError, "stub: model failed")
	case req.Stream:
		h.stream(w, r, &a)
	default:
		h.complete(w, r, &a)
	}
}

func (h *Handler) models(w http.ResponseWriter) {
	name := h.opts.Model
	if name == "" {
		name = "stub"
	}
	writeJSON(w, map[string]any{"object": "list", "data": []any{
		map[string]any{"id": name, "object": "model", "created": 1, "owned_by": "modelstub"},
	}})
}

// complete answers without streaming: the whole reply when its last token
// is due.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, a *answer) {
	if a.mode == HoldFirstToken || a.mode == HoldMidStream {
		a.markHeld()
		select {
		case <-a.release:
		case <-r.Context().Done():
			return
		}
	}
	parts, finish := a.parts, any("stop")
	switch a.mode {
	case EndEarly:
		parts, finish = firstHalf(parts), nil
	case FinishLength:
		finish = "length"
	}
	if !a.pace.wait(r.Context(), len(parts)-1) {
		h.log.Info("model stub: client went away")
		return
	}
	writeJSON(w, map[string]any{
		"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": a.model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": finish,
			"message": map[string]any{"role": "assistant", "content": strings.Join(parts, "")},
		}},
		"usage": usage(a.promptTokens, len(parts)),
	})
}

// chunks splits a reply into word-sized deltas, so a stream has several.
func chunks(reply string) []string {
	var out []string
	for len(reply) > 0 {
		i := strings.IndexByte(reply[1:], ' ')
		if i < 0 {
			out = append(out, reply)
			break
		}
		out = append(out, reply[:i+1])
		reply = reply[i+1:]
	}
	return out
}

// shape repeats or cuts parts to n tokens (n <= 0: as they are); a repeat
// starts with a space, so the words stay apart.
func shape(parts []string, n int) []string {
	if n <= 0 || len(parts) == 0 {
		return parts
	}
	out := make([]string, n)
	for i := range out {
		p := parts[i%len(parts)]
		if i >= len(parts) && i%len(parts) == 0 && !strings.HasPrefix(p, " ") {
			p = " " + p
		}
		out[i] = p
	}
	return out
}

// firstHalf is the part of a reply EndEarly sends: at least one chunk.
func firstHalf(parts []string) []string {
	return parts[:min(len(parts), max(1, len(parts)/2))]
}

// stream answers as Server-Sent Events. It returns as soon as the client
// goes away (the request's context ends, or a write fails).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, a *answer) {
	ctx := r.Context()
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	wait := func() bool {
		a.markHeld()
		select {
		case <-a.release:
			return true
		case <-ctx.Done():
			return false
		}
	}
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return ctx.Err() == nil
	}
	gone := func() { h.log.Info("model stub: client went away") }
	if a.mode == HoldFirstToken && !wait() {
		return
	}
	parts := a.parts
	if a.mode == EndEarly {
		parts = firstHalf(parts)
	}
	for i, p := range parts {
		if a.mode == FailMidStream && i == len(parts)/2 && i > 0 {
			breakConnection(w)
			return
		}
		if !a.pace.wait(ctx, i) || !send(a.chunk(p, "")) {
			gone()
			return
		}
		if a.mode == HoldMidStream && i == 0 && !wait() {
			return
		}
	}
	switch {
	case a.mode == EndEarly:
		return // the handler returns: the body ends cleanly
	case a.mode == FailMidStream && len(parts) <= 1:
		breakConnection(w)
		return
	}
	finish := "stop"
	if a.mode == FinishLength {
		finish = "length"
	}
	if !send(a.chunk("", finish)) {
		gone()
		return
	}
	if a.includeUsage && !send(map[string]any{
		"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": a.model,
		"choices": []any{}, "usage": usage(a.promptTokens, len(parts)),
	}) {
		gone()
		return
	}
	if _, err := fmt.Fprint(w, "data: [DONE]\n\n"); err == nil {
		fl.Flush()
	}
}

// breakConnection drops the TCP connection so the client sees a truncated
// stream, the way a crashed model server looks.
func breakConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// chunk is one streamed delta. With include_usage every chunk but the last
// carries "usage": null, as OpenAI's do.
func (a *answer) chunk(delta, finish string) map[string]any {
	choice := map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": delta}}
	if finish != "" {
		choice["finish_reason"] = finish
	} else {
		choice["finish_reason"] = nil
	}
	c := map[string]any{
		"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": a.model,
		"choices": []any{choice},
	}
	if a.includeUsage {
		c["usage"] = nil
	}
	return c
}

func usage(prompt, completion int) map[string]any {
	return map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "stub_error"}})
}

// pacer spaces tokens Rate a second apart, counted from the request's
// start, so a slow write does not push every later token back.
type pacer struct {
	start time.Time
	every time.Duration // 0: no pacing
}

func newPacer(rate float64) pacer {
	if rate <= 0 {
		return pacer{}
	}
	return pacer{start: time.Now(), every: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until token i is due, and reports false when ctx ends first.
func (p pacer) wait(ctx context.Context, i int) bool {
	if p.every == 0 || i <= 0 {
		return ctx.Err() == nil
	}
	d := time.Until(p.start.Add(time.Duration(i) * p.every))
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
