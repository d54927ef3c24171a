package advisor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStaticServesFilesOnly: the page's files are served, and a directory
// (a listing before) or a missing file is a 404.
func TestStaticServesFilesOnly(t *testing.T) {
	t.Parallel()
	h, err := pageHandler()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         string // a substring the body must hold
	}{
		{"GET", "/", http.StatusOK, "<html"},
		{"GET", "/static/app.js", http.StatusOK, ""},
		{"HEAD", "/static/style.css", http.StatusOK, ""},
		{"GET", "/static/", http.StatusNotFound, ""},
		{"GET", "/static/nope.js", http.StatusNotFound, ""},
		{"GET", "/static/app.js/", http.StatusNotFound, ""},
		{"GET", "/index.html", http.StatusNotFound, ""}, // only as /
		{"GET", "/web/static/app.js", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("%d, want %d: %.200s", w.Code, tt.status, body)
			}
			if tt.status == http.StatusNotFound && (strings.Contains(body, "<a href") || strings.Contains(body, "app.js")) {
				t.Fatalf("404 body lists files: %.200s", body)
			}
			if !strings.Contains(body, tt.body) {
				t.Fatalf("body lacks %q: %.200s", tt.body, body)
			}
		})
	}
}
