package advisor_test

import (
	"context"
	"errors"
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
			t.Errorf("%s: Generate = %q, %v; want ErrModelFailed", tt.name, text, err)
		}
	}
}
