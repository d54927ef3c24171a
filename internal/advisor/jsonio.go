package advisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"git.georgsen.dk/hwlab/internal/store"
)

// The wire types: snake_case mirrors of the store's plan types.

type messageJSON struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Role           string    `json:"role"`
	Content        string    `json:"content"`
	CreatedAt      time.Time `json:"created_at"`
}

type summaryJSON struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Model        string    `json:"model"`
	StartedAt    time.Time `json:"started_at"`
	MessageCount int       `json:"message_count"`
}

type conversationJSON struct {
	summaryJSON
	Messages []messageJSON `json:"messages"`
}

func toMessageJSON(m store.Message) messageJSON {
	return messageJSON{m.ID, m.ConversationID, m.Role, m.Content, m.CreatedAt.UTC()}
}

func toSummaryJSON(s store.ConversationSummary) summaryJSON {
	return summaryJSON{s.ID, s.Title, s.Model, s.StartedAt.UTC(), s.MessageCount}
}

func toConversationJSON(c *store.Conversation) conversationJSON {
	msgs := make([]messageJSON, len(c.Messages))
	for i, m := range c.Messages {
		msgs[i] = toMessageJSON(m)
	}
	return conversationJSON{
		summaryJSON: summaryJSON{c.ID, c.Title, c.Model, c.StartedAt.UTC(), len(c.Messages)},
		Messages:    msgs,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads exactly one JSON object into dst, rejecting unknown fields
// and trailing data. An empty body decodes as {} when emptyOK. The body was
// already size-limited by the middleware, so an over-long one surfaces here
// as *http.MaxBytesError.
//
// encoding/json replaces invalid UTF-8 and lone UTF-16 surrogate escapes
// ("\ud800") with U+FFFD without an error, so content would be stored
// altered and the store's ErrInvalidContent could never fire: decode
// rejects both itself, on the raw bytes, before decoding.
func decode(r *http.Request, dst any, emptyOK bool) error {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	}
	if err != nil {
		return badRequest("reading the body: " + err.Error())
	}
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8")
	}
	if off := loneSurrogate(body); off >= 0 {
		return badRequest(fmt.Sprintf("unpaired UTF-16 surrogate escape at offset %d: text must be valid Unicode", off))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if errors.Is(err, io.EOF) && emptyOK {
		return nil
	}
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return badRequest("empty body: want a JSON object")
	}
	// encoding/json's messages name the field or offset, never our internals.
	return badRequest("bad JSON: " + err.Error())
}
