package advisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"git.georgsen.dk/hwlab/internal/advisor"
	"git.georgsen.dk/hwlab/internal/modelstub"
)

var thread = []advisor.Turn{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}

// TestModelIgnoresOpenAIEnvironment: a real OpenAI key and base URL in the
// environment never reach the configured (LAN) endpoint, and requests go
// to the configured URL. Not parallel: it sets the environment.
func TestModelIgnoresOpenAIEnvironment(t *testing.T) {
	decoy := modelstub.New() // where OPENAI_BASE_URL points
	defer decoy.Close()
	stub := modelstub.New()
	defer stub.Close()
	t.Setenv("OPENAI_API_KEY", "sk-real-openai-key")
	t.Setenv("OPENAI_BASE_URL", decoy.BaseURL())
	t.Setenv("OPENAI_ORG_ID", "org-real")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: yes")

	for _, tt := range []struct{ key, wantAuth string }{{"", ""}, {"lan-key", "Bearer lan-key"}} {
		m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.BaseURL(), APIKey: tt.key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Generate(context.Background(), "m", thread, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Generate(context.Background(), "m", thread, func(string) {}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := stub.Requests()
	if len(reqs) != 4 || len(decoy.Requests()) != 0 {
		t.Fatalf("stub saw %d requests, decoy %d", len(reqs), len(decoy.Requests()))
	}
	for i, r := range reqs {
		want := ""
		if i >= 2 {
			want = "Bearer lan-key"
		}
		if r.Authorization != want {
			t.Errorf("request %d: Authorization %q, want %q", i, r.Authorization, want)
		}
	}
}

// TestModelNoRetries: a failing generation is attempted once (a retry
// could run it twice) and wraps ErrModelFailed.
func TestModelNoRetries(t *testing.T) {
	t.Parallel()
	stub := modelstub.New()
	defer stub.Close()
	stub.SetMode(modelstub.Fail500)
	m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []func(string){nil, func(string) {}} {
		if _, err := m.Generate(context.Background(), "m", thread, stream); !errors.Is(err, advisor.ErrModelFailed) {
			t.Errorf("Generate = %v, want ErrModelFailed", err)
		}
	}
	if n := len(stub.Requests()); n != 2 {
		t.Errorf("%d requests for 2 failing generations, want 2 (no retries)", n)
	}
}

func TestModelBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "127.0.0.1:11434/v1", "ftp://x/v1"} {
		if _, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// TestModelEndsEarly: an answer that ends without a finish_reason (a
// stream cut cleanly before its end, a completion with finish_reason null)
// is incomplete: Generate fails with ErrModelFailed instead of returning
// the part as the reply.
func TestModelEndsEarly(t *testing.T) {
	t.Parallel()
	stub := modelstub.New()
	defer stub.Close()
	stub.SetMode(modelstub.EndEarly)
	m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		onDelta func(string)
	}{{"json", nil}, {"stream", func(string) {}}} {
		text, err := m.Generate(context.Background(), "m", thread, tt.onDelta)
		if !errors.Is(err, advisor.ErrModelFailed) {
			t.Errorf("%s: Generate = %q, %v; want ErrModelFailed", tt.name, text.Text, err)
		}
	}
}

// TestModelErrorTextOnce: each way a real generation fails names the
// model failure once. (An answer cut short read "advisor: model failed:
// advisor: model failed: the answer ended without a finish_reason".)
func TestModelErrorTextOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		mode   modelstub.Mode
		stream bool
	}{
		{"cut short, streaming", modelstub.EndEarly, true},
		{"cut short, JSON", modelstub.EndEarly, false},
		{"HTTP 500, streaming", modelstub.Fail500, true},
		{"HTTP 500, JSON", modelstub.Fail500, false},
		{"broken mid-stream", modelstub.FailMidStream, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := modelstub.New()
			defer stub.Close()
			stub.SetMode(tt.mode)
			m, err := advisor.NewOpenAIModel(advisor.OpenAIConfig{BaseURL: stub.BaseURL()})
			if err != nil {
				t.Fatal(err)
			}
			var onDelta func(string)
			if tt.stream {
				onDelta = func(string) {}
			}
			_, err = m.Generate(context.Background(), "m", thread, onDelta)
			if !errors.Is(err, advisor.ErrModelFailed) {
				t.Fatalf("err = %v, want ErrModelFailed", err)
			}
			if n := strings.Count(err.Error(), advisor.ErrModelFailed.Error()); n != 1 {
				t.Errorf("%q names the model failure %d times", err, n)
			}
		})
	}
}
