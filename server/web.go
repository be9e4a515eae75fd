package server

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// webFiles is the chat page: plain HTML, CSS and JavaScript, nothing
// fetched from elsewhere.
//
//go:embed web
var webFiles embed.FS

// webCSP lets the page load only its own files and talk only to this
// server; images and videos the user attaches are shown from data: and
// blob: URLs. Model output is inserted as text, never as HTML, and the
// policy is a second line of defence.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// routeWeb serves the chat page at / and its files under /web/.
func (s *Server) routeWeb(mux *http.ServeMux) {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	files := http.FileServerFS(sub)
	secure := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", webCSP)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "no-referrer")
			h.ServeHTTP(w, r)
		})
	}
	mux.Handle("GET /{$}", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	})))
	mux.Handle("GET /web/", secure(http.StripPrefix("/web/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no folder listings
			return
		}
		files.ServeHTTP(w, r)
	}))))
}
