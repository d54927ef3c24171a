// Package modelstub is a fake OpenAI-compatible chat-completions server for
// tests: the advisor's handler tests and the browser test run against it
// instead of a real model. It answers POST /v1/chat/completions in JSON or,
// with "stream": true, as Server-Sent Events chunks, and can fail on demand.
//
// It lives in a non-test package so tests in several packages can share it.
package modelstub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Mode selects how the stub answers the next requests.
type Mode int

const (
	// Normal answers with Reply(messages): "echo: <last user content>" by default.
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
	Authorization string // the Authorization header, verbatim
	Path          string
}

// Server is a running stub. Its zero value is not usable; call New.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	mode     Mode
	reply    func([]Message) string
	requests []Request
	release  chan struct{}
	held     chan struct{} // closed when a request reaches a hold point
	heldOnce *sync.Once
}

// New starts a stub that echoes. Close it when done (t.Cleanup(s.Close)).
func New() *Server {
	s := &Server{reply: Echo, release: make(chan struct{}), held: make(chan struct{}), heldOnce: new(sync.Once)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
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

// BaseURL is what to configure as the model's base URL (it ends in /v1, as
// Ollama's does).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// SetMode changes how later requests are answered and re-arms Held.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	s.release = make(chan struct{})
	s.held = make(chan struct{})
	s.heldOnce = new(sync.Once)
}

// SetReply replaces the reply function.
func (s *Server) SetReply(f func([]Message) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = f
}

// Held is closed once a request in a Hold mode has reached its hold point
// (headers or first chunk flushed): synchronisation for tests, not a sleep.
func (s *Server) Held() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Release lets held requests continue. Safe to call more than once.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

type chatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	Stream   bool      `json:"stream"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, "unknown endpoint "+r.Method+" "+r.URL.Path)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Model: req.Model, Messages: req.Messages, Stream: req.Stream,
		Authorization: r.Header.Get("Authorization"), Path: r.URL.Path,
	})
	mode, reply, release := s.mode, s.reply(req.Messages), s.release
	held, once := s.held, s.heldOnce
	s.mu.Unlock()
	markHeld := func() { once.Do(func() { close(held) }) }

	if mode == Fail500 || (mode == FailMidStream && !req.Stream) {
		writeError(w, http.StatusInternalServerError, "stub: model failed")
		return
	}
	if !req.Stream {
		if mode == HoldFirstToken || mode == HoldMidStream {
			markHeld()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		if mode == EndEarly {
			c := completion(req.Model, strings.Join(firstHalf(chunks(reply)), ""))
			c["choices"].([]any)[0].(map[string]any)["finish_reason"] = nil
			writeJSON(w, c)
			return
		}
		c := completion(req.Model, reply)
		if mode == FinishLength {
			c["choices"].([]any)[0].(map[string]any)["finish_reason"] = "length"
		}
		writeJSON(w, c)
		return
	}
	s.stream(w, r, req.Model, reply, mode, release, markHeld)
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

// firstHalf is the part of a reply EndEarly sends: at least one chunk.
func firstHalf(parts []string) []string {
	return parts[:max(1, len(parts)/2)]
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, model, reply string, mode Mode, release chan struct{}, markHeld func()) {
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	wait := func() bool {
		markHeld()
		select {
		case <-release:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	if mode == HoldFirstToken && !wait() {
		return
	}
	parts := chunks(reply)
	if mode == EndEarly {
		for _, p := range firstHalf(parts) {
			writeChunk(w, chunk(model, p, ""))
		}
		fl.Flush()
		return // the handler returns: the body ends cleanly
	}
	for i, p := range parts {
		if mode == FailMidStream && i == len(parts)/2 && i > 0 {
			breakConnection(w)
			return
		}
		writeChunk(w, chunk(model, p, ""))
		fl.Flush()
		if mode == HoldMidStream && i == 0 && !wait() {
			return
		}
	}
	if mode == FailMidStream && len(parts) <= 1 {
		breakConnection(w)
		return
	}
	finish := "stop"
	if mode == FinishLength {
		finish = "length"
	}
	writeChunk(w, chunk(model, "", finish))
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
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

func writeChunk(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "data: %s\n\n", b)
}

func chunk(model, delta, finish string) map[string]any {
	choice := map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": delta}}
	if finish != "" {
		choice["finish_reason"] = finish
	} else {
		choice["finish_reason"] = nil
	}
	return map[string]any{
		"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": model,
		"choices": []any{choice},
	}
}

func completion(model, reply string) map[string]any {
	return map[string]any{
		"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": reply},
		}},
		"usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
	}
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
