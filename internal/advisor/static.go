package advisor

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// web holds the page: index.html and static/ (no build step, no CDN).
//
//go:embed web
var web embed.FS

// pageHandler serves GET / (index.html) and the files under GET /static/;
// anything else outside /api is a 404, directories included: a listing
// tells a visitor nothing the page needs and only maps the tree.
func pageHandler() (http.Handler, error) {
	root, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, root, "index.html")
	})
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		// The mux has cleaned the path, so name has no "..", "." or "//".
		name := strings.TrimPrefix(r.URL.Path, "/")
		if st, err := fs.Stat(root, name); err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, root, name)
	})
	return mux, nil
}
