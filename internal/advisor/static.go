package advisor

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the page: index.html and static/ (no build step, no CDN).
//
//go:embed web
var web embed.FS

// pageHandler serves GET / (index.html) and GET /static/…; anything else
// outside /api is a 404.
func pageHandler() (http.Handler, error) {
	root, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(root)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, root, "index.html")
	})
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	return mux, nil
}
