package modelstub_test

import (
	"context"
	"testing"

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
