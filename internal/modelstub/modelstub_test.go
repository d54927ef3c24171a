package modelstub_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"git.georgsen.dk/hwlab/internal/modelstub"
)

// client talks to the stub through the official client, so these tests
// prove the stub speaks what openai-go expects.
func client(s *modelstub.Server) *openai.ChatCompletionService {
	c := openai.NewChatCompletionService(
		option.WithBaseURL(s.BaseURL()),
		option.WithAPIKey("k"),
		option.WithMaxRetries(0),
	)
	return &c
}

func params() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello there world")},
	}
}

func TestJSONAndStream(t *testing.T) {
	t.Parallel()
	s := modelstub.New()
	t.Cleanup(s.Close)
	c := client(s)

	res, err := c.New(context.Background(), params())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "echo: hello there world" {
		t.Fatalf("JSON reply %q", got)
	}

	st := c.NewStreaming(context.Background(), params())
	var got string
	n := 0
	for st.Next() {
		for _, ch := range st.Current().Choices {
			got += ch.Delta.Content
		}
		n++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if got != "echo: hello there world" || n < 3 {
		t.Fatalf("stream reply %q in %d chunks", got, n)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Stream || !reqs[1].Stream || reqs[1].Authorization != "Bearer k" || reqs[1].Messages[0].Content != "hello there world" {
		t.Fatalf("recorded %+v", reqs)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	s := modelstub.New()
	t.Cleanup(s.Close)
	c := client(s)

	s.SetMode(modelstub.Fail500)
	if _, err := c.New(context.Background(), params()); err == nil {
		t.Fatal("Fail500: no error")
	}

	s.SetMode(modelstub.FailMidStream)
	st := c.NewStreaming(context.Background(), params())
	var got string
	for st.Next() {
		for _, ch := range st.Current().Choices {
			got += ch.Delta.Content
		}
	}
	if st.Err() == nil {
		t.Fatalf("FailMidStream: no error after %q", got)
	}
	if got == "" || got == "echo: hello there world" {
		t.Fatalf("FailMidStream: want a partial reply, got %q", got)
	}
}

func TestHoldFirstToken(t *testing.T) {
	t.Parallel()
	s := modelstub.New()
	t.Cleanup(s.Close)
	s.SetMode(modelstub.HoldFirstToken)
	done := make(chan string)
	go func() {
		st := client(s).NewStreaming(context.Background(), params())
		var got string
		for st.Next() {
			for _, ch := range st.Current().Choices {
				got += ch.Delta.Content
			}
		}
		done <- got
	}()
	<-s.Held()
	select {
	case got := <-done:
		t.Fatalf("stream finished while held: %q", got)
	default:
	}
	s.Release()
	if got := <-done; got != "echo: hello there world" {
		t.Fatalf("after release %q", got)
	}
}

// TestEndEarly: the stub's early end is clean to openai-go (no error, no
// finish_reason, part of the reply), which is what the advisor must catch.
func TestEndEarly(t *testing.T) {
	t.Parallel()
	s := modelstub.New()
	t.Cleanup(s.Close)
	s.SetMode(modelstub.EndEarly)
	c := client(s)

	res, err := c.New(context.Background(), params())
	if err != nil {
		t.Fatal(err)
	}
	if ch := res.Choices[0]; ch.FinishReason != "" || ch.Message.Content == "" || ch.Message.Content == "echo: hello there world" {
		t.Fatalf("JSON: finish %q, content %q", ch.FinishReason, ch.Message.Content)
	}

	st := c.NewStreaming(context.Background(), params())
	var got, finish string
	for st.Next() {
		for _, ch := range st.Current().Choices {
			got += ch.Delta.Content
			finish += string(ch.FinishReason)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream error %v: the early end should look clean", err)
	}
	if got == "" || got == "echo: hello there world" || finish != "" {
		t.Fatalf("stream: %q, finish %q", got, finish)
	}
}

// collect reads a stream to its end: the text, the content chunks, and the
// last chunk.
func collect(t *testing.T, st interface {
	Next() bool
	Current() openai.ChatCompletionChunk
	Err() error
}) (text string, n int, last openai.ChatCompletionChunk) {
	t.Helper()
	for st.Next() {
		last = st.Current()
		for _, ch := range last.Choices {
			if ch.Delta.Content != "" {
				text += ch.Delta.Content
				n++
			}
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return text, n, last
}

// TestUsageChunk: asked for stream_options.include_usage, the stream ends
// with OpenAI's usage chunk (no choices, a usage object) that openai-go
// reads; unasked, no chunk carries usage. The counts are words.
func TestUsageChunk(t *testing.T) {
	t.Parallel()
	s := modelstub.New()
	t.Cleanup(s.Close)
	for _, include := range []bool{true, false} {
		p := params()
		if include {
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		}
		var sawUsage, sawEmpty bool
		var u openai.CompletionUsage
		var text string
		st := client(s).NewStreaming(context.Background(), p)
		for st.Next() {
			c := st.Current()
			if c.JSON.Usage.Valid() {
				sawUsage, u = true, c.Usage
			}
			if len(c.Choices) == 0 {
				sawEmpty = true
			}
			for _, ch := range c.Choices {
				text += ch.Delta.Content
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if sawUsage != include || sawEmpty != include {
			t.Fatalf("include_usage %v: usage chunk %v, empty choices %v", include, sawUsage, sawEmpty)
		}
		// "echo: hello there world" is 4 tokens; the prompt 3 words.
		if include && (u.PromptTokens != 3 || u.CompletionTokens != 4 || u.TotalTokens != 7 || text != "echo: hello there world") {
			t.Fatalf("usage %+v for %q", u, text)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 2 || !reqs[0].IncludeUsage || reqs[1].IncludeUsage {
		t.Fatalf("recorded %+v", reqs)
	}
	res, err := client(s).New(context.Background(), params())
	if err != nil {
		t.Fatal(err)
	}
	if res.Usage.PromptTokens != 3 || res.Usage.CompletionTokens != 4 {
		t.Fatalf("JSON usage %+v", res.Usage)
	}
}

// TestOptions: each reply option, streamed and in JSON, through openai-go.
func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   modelstub.Options
		text   string
		chunks int
		model  string
	}{
		{"echo", modelstub.Options{}, "echo: hello there world", 4, "m"},
		{"numbered", modelstub.Options{Numbered: true, Tokens: 12}, "1 2 3 4 5 6 7 8 9 10 11 12", 12, "m"},
		{"canned", modelstub.Options{Reply: "all good"}, "all good", 2, "m"},
		{"canned, repeated", modelstub.Options{Reply: "all good", Tokens: 5}, "all good all good all", 5, "m"},
		{"echo, cut", modelstub.Options{Tokens: 2}, "echo: hello", 2, "m"},
		{"reported model", modelstub.Options{Model: "stub-7b"}, "echo: hello there world", 4, "stub-7b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := modelstub.NewWith(tt.opts)
			t.Cleanup(s.Close)
			text, n, last := collect(t, client(s).NewStreaming(context.Background(), params()))
			if text != tt.text || n != tt.chunks || last.Model != tt.model {
				t.Fatalf("stream %q in %d chunks from %q; want %q in %d from %q", text, n, last.Model, tt.text, tt.chunks, tt.model)
			}
			res, err := client(s).New(context.Background(), params())
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Choices[0].Message.Content; got != tt.text || res.Model != tt.model || res.Usage.CompletionTokens != int64(tt.chunks) {
				t.Fatalf("JSON %q from %q, usage %+v", got, res.Model, res.Usage)
			}
		})
	}
	if got := modelstub.NumberedText(3); got != "1 2 3" {
		t.Errorf("NumberedText(3) = %q", got)
	}
}

func TestOptionsRejected(t *testing.T) {
	t.Parallel()
	for _, o := range []modelstub.Options{
		{Numbered: true},
		{Numbered: true, Tokens: 3, Reply: "x"},
		{Tokens: -1},
		{Rate: -1},
		{Rate: math.NaN()},
		{Rate: math.Inf(1)},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
		if _, err := modelstub.NewHandler(o); err == nil {
			t.Errorf("NewHandler(%+v) accepted", o)
		}
		if err := modelstub.ListenAndServe(context.Background(), "127.0.0.1:0", o); err == nil {
			t.Errorf("ListenAndServe(%+v) accepted", o)
		}
	}
}

// TestRate: at 40 tokens a second, token i is sent no sooner than i/40 s
// after the first, so 6 tokens take at least 125 ms. Only that lower bound
// is checked: a loaded machine makes the stream slower, never faster.
func TestRate(t *testing.T) {
	t.Parallel()
	s := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: 6, Rate: 40})
	t.Cleanup(s.Close)
	start := time.Now()
	text, _, _ := collect(t, client(s).NewStreaming(context.Background(), params()))
	if took := time.Since(start); text != "1 2 3 4 5 6" || took < 125*time.Millisecond {
		t.Fatalf("%q in %v, want at least 125ms", text, took)
	}
	start = time.Now()
	if _, err := client(s).New(context.Background(), params()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 125*time.Millisecond {
		t.Fatalf("JSON answer in %v, want at least 125ms", took)
	}
}

// TestClientGoesAway: a client that leaves while the next token is due in
// 1000 s ends the handler at once: httptest's Close waits for every
// handler, so it would hang otherwise.
func TestClientGoesAway(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	s := modelstub.NewWith(modelstub.Options{Numbered: true, Tokens: 3, Rate: 0.001,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	st := client(s).NewStreaming(ctx, params())
	if !st.Next() || st.Current().Choices[0].Delta.Content != "1" {
		t.Fatalf("first chunk: %v", st.Err())
	}
	cancel()
	st.Close()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Minute): // a failure bound, not synchronisation
		t.Fatal("the handler is still waiting for its next token")
	}
	if !strings.Contains(logs.String(), "client went away") {
		t.Errorf("log: %s", logs)
	}
}

// TestServeStopsOnCancel: the runnable stub (what `advisor dev-model`
// runs) serves openai-go, and when its context ends it ends the stream in
// flight and returns nil.
func TestServeStopsOnCancel(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	served := make(chan error, 1)
	go func() { served <- modelstub.Serve(ctx, ln, modelstub.Options{Numbered: true, Tokens: 3, Rate: 0.001}) }()
	c := openai.NewChatCompletionService(option.WithBaseURL("http://"+ln.Addr().String()+"/v1"), option.WithMaxRetries(0))

	// A busy address is an error, not a silent second server.
	if err := modelstub.ListenAndServe(ctx, ln.Addr().String(), modelstub.Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second server on %s: %v", ln.Addr(), err)
	}

	st := c.NewStreaming(context.Background(), params())
	if !st.Next() || st.Current().Choices[0].Delta.Content != "1" {
		t.Fatalf("first chunk: %v", st.Err())
	}
	cancel()
	for st.Next() {
		for _, ch := range st.Current().Choices {
			if ch.Delta.Content != "" || ch.FinishReason != "" {
				t.Errorf("after stop: %+v", ch)
			}
		}
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(time.Minute): // a failure bound, not synchronisation
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := c.New(context.Background(), params()); err == nil {
		t.Error("a request after the stop was answered")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
