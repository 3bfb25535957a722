// Package serve is the HTTP server behind `goushi serve`: a web page for
// trying a model, an OpenAI-compatible completions API, a request queue
// that bounds how many generations run at once, and one structured log
// line per request.
//
// The server reaches the model only through the Generator interface, so
// the HTTP layer does not depend on how tokens are produced. FromCheckpoint
// adapts a trained checkpoint to it.
//
// Endpoints:
//
//	GET  /                      the web page (static files under /static/)
//	GET  /api                   API documentation with curl examples
//	GET  /api/card              the model card as JSON
//	GET  /api/loss.svg          the training loss curve
//	GET  /healthz               liveness and queue state
//	GET  /v1/models             the one model, in OpenAI's list schema
//	POST /v1/completions        OpenAI text completions, streamed or not
//	POST /v1/chat/completions   OpenAI chat completions, streamed or not
package serve
