package advisor

import "context"

// Turn is one message of the thread sent to a model.
type Turn struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// Result is a model's answer and what its server said about it.
type Result struct {
	Text         string
	Model        string // the model that answered, as its server names it; "" unknown
	FinishReason string // "" unknown
	// From the usage the server reports (a stream's stream_options.include_usage);
	// nil when it sends none.
	PromptTokens, CompletionTokens *int
}

// Model generates the assistant's next message for a thread. The handler
// depends on this interface only; NewOpenAIModel is the real one.
type Model interface {
	// Generate returns the complete reply. With onDelta nil it makes one
	// non-streaming request; otherwise it streams and calls onDelta with
	// each piece as it arrives, from the calling goroutine. Errors other
	// than ctx's wrap ErrModelFailed; an answer that ends without the model
	// saying it finished (no finish_reason) is such an error, not a reply.
	Generate(ctx context.Context, model string, thread []Turn, onDelta func(string)) (Result, error)
}
