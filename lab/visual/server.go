// Package visual serves the visual ratchet of `blindpost lab serve`: one
// self-contained web page that steps through the conversation of
// `blindpost lab ratchet` and draws both parties' Double Ratchet state,
// and a JSON endpoint with the same steps.
//
// The steps are computed once, by the protocol code, when the handler is
// made (lab.NewVisual); the page only draws them. The page loads nothing
// from the network: its style and script are inline, allowed by hash in
// its Content-Security-Policy, and the steps are inlined as JSON too, so
// the page works even when read from a file.
package visual

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/blindpost/blindpost/lab"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string
)

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Handler serves the page on "/" and the steps on "/steps.json".
type Handler struct {
	page  []byte
	steps []byte
	csp   string
}

var _ http.Handler = (*Handler)(nil)

// NewHandler computes the conversation for seed and renders the page.
func NewHandler(seed uint64) (*Handler, error) {
	v, err := lab.NewVisual(seed)
	if err != nil {
		return nil, err
	}
	steps, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("visual: %w", err)
	}
	var page bytes.Buffer
	err = pageTemplate.Execute(&page, struct {
		Seed  uint64
		Title string
		CSS   template.CSS
		JS    template.JS
		Steps template.JS
	}{v.Seed, v.Title, template.CSS(pageCSS), template.JS(pageJS), template.JS(steps)})
	if err != nil {
		return nil, fmt.Errorf("visual: %w", err)
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + sourceHash(pageJS),
		"style-src " + sourceHash(pageCSS),
		"connect-src 'self'",
		"img-src 'self' data:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	return &Handler{page: page.Bytes(), steps: append(steps, '\n'), csp: csp}, nil
}

// sourceHash is a CSP hash source for an inline script or style.
func sourceHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	switch r.URL.Path {
	case "/":
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Content-Security-Policy", h.csp)
		w.Write(h.page)
	case "/steps.json":
		hd.Set("Content-Type", "application/json")
		w.Write(h.steps)
	default:
		http.NotFound(w, r)
	}
}
