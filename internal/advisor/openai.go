package advisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// DefaultModelHeaderTimeout is how long to wait for a model's response
// headers. A local model may spend tens of seconds loading, and a
// non-streaming reply sends its headers only when the whole answer is
// written, so it is generous; there is no overall timeout, as a streamed
// reply legitimately takes minutes.
const DefaultModelHeaderTimeout = 10 * time.Minute

// OpenAIConfig configures NewOpenAIModel.
type OpenAIConfig struct {
	// BaseURL of an OpenAI-compatible API, ending in /v1 (Ollama:
	// http://127.0.0.1:11434/v1).
	BaseURL string
	// APIKey, sent as a bearer token when set. Never read from
	// OPENAI_API_KEY: a real OpenAI key must not go to a LAN server.
	APIKey        string
	HeaderTimeout time.Duration // 0 means DefaultModelHeaderTimeout
}

type openAIModel struct {
	chat *openai.ChatCompletionService
}

// NewOpenAIModel returns a Model for an OpenAI-compatible chat-completions
// endpoint. It builds the chat service from explicit options only:
// openai.NewClient would first apply OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_ORG_ID, OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS from the
// environment, and a leftover real OpenAI key would then go to a LAN
// server. Automatic retries are off, since a retried generation could
// run twice.
func NewOpenAIModel(cfg OpenAIConfig) (Model, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("advisor: model base URL must be an http(s) URL such as http://127.0.0.1:11434/v1")
	}
	timeout := cfg.HeaderTimeout
	if timeout <= 0 {
		timeout = DefaultModelHeaderTimeout
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          10,
		ForceAttemptHTTP2:     true,
	}
	chat := openai.NewChatCompletionService(
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(&http.Client{Transport: tr}),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(0),
	)
	return &openAIModel{chat: &chat}, nil
}

func (m *openAIModel) Generate(ctx context.Context, model string, thread []Turn, onDelta func(string)) (Result, error) {
	params := openai.ChatCompletionNewParams{Model: model, Messages: toOpenAI(thread)}
	if onDelta == nil {
		res, err := m.chat.New(ctx, params)
		if err != nil {
			return Result{}, modelError(ctx, err)
		}
		if len(res.Choices) == 0 {
			return Result{}, fmt.Errorf("%w: no choices in the response", ErrModelFailed)
		}
		if res.Choices[0].FinishReason == "" {
			return Result{}, errUnfinished
		}
		out := Result{Text: res.Choices[0].Message.Content, Model: res.Model, FinishReason: res.Choices[0].FinishReason}
		out.setUsage(res.JSON.Usage.Valid(), res.Usage)
		return out, nil
	}
	// The usage chunk (empty choices) comes last from servers that honour
	// it; those that do not simply send none, and the counts stay unknown.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := m.chat.NewStreaming(ctx, params)
	defer st.Close()
	var (
		b   strings.Builder
		out Result
	)
	for st.Next() {
		chunk := st.Current()
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if chunk.JSON.Usage.Valid() {
			out.setUsage(true, chunk.Usage)
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue
			}
			if c.Delta.Content != "" {
				b.WriteString(c.Delta.Content)
				onDelta(c.Delta.Content)
			}
			if c.FinishReason != "" {
				out.FinishReason = c.FinishReason
			}
		}
	}
	out.Text = b.String()
	if err := st.Err(); err != nil {
		return out, modelError(ctx, err)
	}
	if out.FinishReason == "" {
		return out, modelError(ctx, errUnfinished)
	}
	return out, nil
}

func (r *Result) setUsage(valid bool, u openai.CompletionUsage) {
	if !valid {
		return
	}
	p, c := int(u.PromptTokens), int(u.CompletionTokens)
	r.PromptTokens, r.CompletionTokens = &p, &c
}

// errUnfinished: the answer ended without a finish_reason. openai-go
// reports no error when a stream's body simply ends (no [DONE], which its
// decoder does not distinguish from EOF), nor for a completion whose
// finish_reason is null, so a reply cut short would look complete. Every
// OpenAI-compatible server (OpenAI, Ollama, llama.cpp, vLLM) sets
// finish_reason on the last choice. Any reason counts as finished,
// "length" included: that reply is the model's whole answer to the
// max-tokens setting, retrying gives the same cut, and the user already
// saw those tokens; "a partial reply is not stored" is about replies the
// model did not finish sending.
var errUnfinished = fmt.Errorf("%w: the answer ended without a finish_reason (cut short)", ErrModelFailed)

// modelError keeps a cancelled or expired context recognisable (the client
// went away) and marks everything else ErrModelFailed, once: an error of
// this file's own (errUnfinished) already is.
func modelError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("advisor: model request: %w", ctx.Err())
	}
	if errors.Is(err, ErrModelFailed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrModelFailed, err)
}

func toOpenAI(thread []Turn) []openai.ChatCompletionMessageParamUnion {
	out := make([]openai.ChatCompletionMessageParamUnion, 0, len(thread))
	for _, t := range thread {
		switch t.Role {
		case "system":
			out = append(out, openai.SystemMessage(t.Content))
		case "assistant":
			out = append(out, openai.AssistantMessage(t.Content))
		default:
			out = append(out, openai.UserMessage(t.Content))
		}
	}
	return out
}
