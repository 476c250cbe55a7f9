package visual

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/lab"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/steps-seed1.json")

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStepsGolden pins the JSON of the visual ratchet for seed 1.
func TestStepsGolden(t *testing.T) {
	h, err := NewHandler(1)
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, h, http.MethodGet, "/steps.json")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("steps.json: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	got := body(t, r)
	path := filepath.Join("testdata", "golden", "steps-seed1.json")
	if *update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", " "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), compact.Bytes()) {
		t.Fatal("steps.json differs from the golden file (go test ./lab/visual -run TestStepsGolden -update)")
	}
}

// TestPageSelfContained checks that the page loads nothing from elsewhere
// and that its inline script and style are exactly the ones its
// Content-Security-Policy allows.
func TestPageSelfContained(t *testing.T) {
	h, err := NewHandler(1)
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, h, http.MethodGet, "/")
	page := string(body(t, r))
	csp := r.Header.Get("Content-Security-Policy")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if script == nil || style == nil {
		t.Fatal("no inline script or style")
	}
	if !strings.Contains(csp, "script-src "+sourceHash(script[1])) || !strings.Contains(csp, "style-src "+sourceHash(style[1])) {
		t.Fatal("the inline script or style does not match the CSP hashes")
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Fatalf("the page refers to another origin: %s", m)
	}
	// The inlined steps are the JSON endpoint's.
	data := regexp.MustCompile(`(?s)<script type="application/json" id="steps">(.*?)</script>`).FindStringSubmatch(page)
	steps := body(t, get(t, h, http.MethodGet, "/steps.json"))
	if data == nil || data[1] != string(bytes.TrimSpace(steps)) {
		t.Fatal("inlined steps differ from /steps.json")
	}
}

func TestHandlerRoutes(t *testing.T) {
	h, err := NewHandler(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/", 200},
		{http.MethodHead, "/steps.json", 200},
		{http.MethodGet, "/other", 404},
		{http.MethodPost, "/", 405},
	} {
		if r := get(t, h, c.method, c.path); r.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, r.StatusCode, c.code)
		}
	}
}

// TestStepsFromProtocol checks the steps against the lab's conversation:
// every root key both parties hold is one the ratchet computed.
func TestStepsFromProtocol(t *testing.T) {
	v, err := lab.NewVisual(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Steps) != 13 || v.Steps[0].Action != "start" {
		t.Fatalf("%d steps", len(v.Steps))
	}
	dh := 0
	for _, s := range v.Steps {
		if s.DHStep != nil {
			dh++
			if s.Action != "receive" {
				t.Fatalf("step %d: a DH step on %s", s.N, s.Action)
			}
			st := s.Alice
			if s.Actor == "Bob" {
				st = s.Bob
			}
			if st.Root != s.DHStep.Root || st.Sending.RatchetKey != s.DHStep.NewKey || st.Sending.ChainKey != s.DHStep.SendChain {
				t.Fatalf("step %d: the state after a DH step is not its output", s.N)
			}
		}
	}
	if dh != 4 {
		t.Fatalf("%d DH steps, want 4", dh)
	}
}
