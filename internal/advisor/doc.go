// Package advisor is the lab advisor's HTTP service: a JSON API over
// internal/store, a chat endpoint that asks an OpenAI-compatible model and
// stores both sides of the exchange, and the embedded web page. It imports
// the repository (internal/store) and nothing else of the data layer.
//
// The HTTP contract is in docs/api.md.
package advisor
