package serve

import (
	"embed"
	"io/fs"
	"net/http"
)

// staticFiles are the web page's files, served as they are: plain HTML,
// CSS and JavaScript with no build step.
//
//go:embed static
var staticFiles embed.FS

func (s *Server) staticRoutes(mux *http.ServeMux) {
	root, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(root)
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(root, name)
			if err != nil {
				http.Error(w, "page missing from the binary", http.StatusInternalServerError)
				return
			}
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "+
				"style-src 'self' 'unsafe-inline'")
			h.Set("X-Content-Type-Options", "nosniff")
			w.Write(b)
		}
	}
	mux.HandleFunc("GET /{$}", page("index.html"))
	mux.HandleFunc("GET /api", page("api.html"))
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
}
