package advisor

import (
	"errors"
	"io"
	"net/http"

	"golang.org/x/sync/semaphore"

	"git.georgsen.dk/hwlab/internal/wire"
)

// The memory budget bounds the bytes that requests hold at once, across
// all of them, so memory has a ceiling whatever clients send: each request
// reserves what it may hold before it reads anything, and a request that
// does not fit now is answered 503 with Retry-After, its body unread.
// What a request may hold:
//   - a body: about three times its length while it is decoded (the
//     decoder's buffer for one JSON string token grows by doubling, and
//     the decoded content and the database's copy of it come on top);
//     a body of unknown length (chunked) reserves the body limit;
//   - reading a thread (GET of a conversation, chat and reply, and their
//     SSE streams for as long as they last): readCharge, one message's
//     worth, since the GET streams the thread a message at a time.
//
// A request also reserves minCharge, so a flood of small ones is bounded
// too.
//
// chat and reply read only the tail of the thread that can fit the thread
// budget (Store.GetRecentThread), so their charge holds however long the
// thread. Not bounded here: a model that streams without end (the reply
// is refused by the store past the content limit, but held until then);
// the replies rework caps a reply as it streams.

// DefaultMemoryBudget is the budget with the default content limit: room
// for two of the largest bodies at once, or a dozen thread reads. With
// the default Go memory limit of serve (DefaultMemoryLimit in cmd/advisor)
// it keeps RSS under 512 MiB.
const DefaultMemoryBudget = 192 << 20

// minCharge is what any request reserves: its buffers, headers and the
// small JSON of an answer.
const minCharge = 64 << 10

// errBusy: the memory budget is spent by requests in flight.
var errBusy = errors.New("advisor: memory budget spent")

// busyRetryAfter is the Retry-After (seconds) of a 503 for a spent budget:
// the bodies in flight are read within seconds.
const busyRetryAfter = "2"

type memoryBudget struct {
	sem                 *semaphore.Weighted
	total               int64
	maxBody, readCharge int64
}

func newMemoryBudget(total, maxBody int64, maxContent int) *memoryBudget {
	return &memoryBudget{
		sem:     semaphore.NewWeighted(total),
		total:   total,
		maxBody: maxBody,
		// The message as stored, as scanned, and as JSON at its worst
		// escaping.
		readCharge: int64(wire.EscapeFactor+2) * int64(maxContent),
	}
}

// charge is what r reserves; reads says whether the handler reads a thread.
func (b *memoryBudget) charge(r *http.Request, reads bool) int64 {
	n := int64(minCharge)
	if r.Body != nil && r.Body != http.NoBody {
		body := r.ContentLength
		if body < 0 || body > b.maxBody {
			body = b.maxBody
		}
		n += 3 * body
	}
	if reads {
		n += b.readCharge
	}
	return min(n, b.total)
}

// limit wraps a handler with the budget: it reserves the request's charge
// for as long as the handler runs (a stream included), or answers 503.
func (h *handler) limit(reads bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > h.cfg.MaxBodyBytes {
			h.writeError(w, r, errTooLarge) // known before reading a byte
			return
		}
		n := h.budget.charge(r, reads)
		if !h.budget.sem.TryAcquire(n) {
			h.writeError(w, r, errBusy)
			// Read the rest of the body through a small buffer (memory
			// stays flat; the body limit still applies), so the client
			// finishes sending and reads the 503: closing on a client
			// still writing resets the connection, and it may see the
			// reset instead of the answer.
			_, _ = io.Copy(io.Discard, r.Body)
			return
		}
		defer h.budget.sem.Release(n)
		next(w, r)
	})
}
