package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// modelObject is one entry of GET /v1/models.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.card.ID, Object: "model", Created: s.card.Created.Unix(),
		OwnedBy: "goushi"}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []modelObject{s.modelObject()},
	})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if e := s.checkModel(r.PathValue("id")); e != nil {
		s.writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

// apiRoutes maps each API path to the one method it accepts.
var apiRoutes = map[string]string{
	"/v1/completions":      http.MethodPost,
	"/v1/chat/completions": http.MethodPost,
	"/v1/models":           http.MethodGet,
}

// handleNoRoute replies to requests under /v1/ that match no route with
// an error in OpenAI's schema, not the mux's plain text, so that API
// clients can show the message.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	if method, ok := apiRoutes[r.URL.Path]; ok {
		w.Header().Set("Allow", method)
		s.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed,
			Type: "invalid_request_error",
			Message: fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path,
				method)})
		return
	}
	s.writeError(w, r, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error",
		Message: fmt.Sprintf("no API route %s; see /api for the routes", r.URL.Path)})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	running, waiting := s.queue.stats()
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "shutting down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{
		"status":      status,
		"model":       s.card.ID,
		"running":     running,
		"waiting":     waiting,
		"concurrency": s.opts.Concurrency,
		"max_queue":   s.opts.MaxQueue,
	})
}

func (s *Server) handleCard(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.cardJSON())
}

func (s *Server) handleLossSVG(w http.ResponseWriter, r *http.Request) {
	if len(s.card.LossSVG) == 0 {
		s.writeError(w, r, &apiError{Status: http.StatusNotFound, Type: "not_found",
			Message: "this checkpoint has no loss.svg"})
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(s.card.LossSVG)
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the response failed: "+err.Error(),
			http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError sends e in OpenAI's error schema.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	logOf(r.Context()).err = e.Message
	d := errorDetail{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		d.Param = &e.Param
	}
	if e.Code != "" {
		d.Code = &e.Code
	}
	writeJSON(w, e.Status, errorBody{Error: d})
}
