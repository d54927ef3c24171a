package advisor

import (
	"errors"
	"io"
	"net/http"

	"git.georgsen.dk/hwlab/internal/wire"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	startJSON(w, status)
	_ = wire.Write(w, v)
}

// startJSON sends the headers of a JSON answer.
func startJSON(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// decode reads exactly one JSON object into dst by package wire's rule
// (exact names, no duplicates, no unknown fields, valid Unicode, nothing
// after it). An empty body decodes as {} when emptyOK. The body was already
// size-limited by the middleware, so an over-long one surfaces here as
// *http.MaxBytesError.
func decode(r *http.Request, dst any, emptyOK bool) error {
	err := wire.Decode(r.Body, dst)
	var tooLarge *http.MaxBytesError
	var bad *wire.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooLarge):
		return errTooLarge
	case errors.Is(err, io.EOF):
		if emptyOK {
			return nil
		}
		return badRequest("empty body: want a JSON object")
	case errors.As(err, &bad):
		return badRequest("bad JSON: " + bad.Error())
	}
	return badRequest("reading the body: " + err.Error())
}
