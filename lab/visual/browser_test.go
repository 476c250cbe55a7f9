package visual

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/lab"
)

// chromiumPath is Debian's chromium package; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

var screenshot = flag.String("screenshot", "", "also write a screenshot of step 9 to this PNG `file` (docs/labs/ratchet-visual.png)")

// chromium runs headless Chromium on url with extra flags and returns its
// standard output. It skips the test when Chromium is missing, unless
// BLINDPOST_BROWSER_REQUIRED=1.
func chromium(t *testing.T, url string, extra ...string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("BLINDPOST_BROWSER_REQUIRED") == "1" {
			t.Fatalf("%s is missing and BLINDPOST_BROWSER_REQUIRED=1 (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("%s is missing (apt-get install chromium); set BLINDPOST_BROWSER_REQUIRED=1 to fail instead", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}, extra...)
	cmd := exec.CommandContext(ctx, chromiumPath, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// TestBrowser serves the visual ratchet in-process, renders it in headless
// Chromium and checks the DOM: the script ran, it drew every step, and
// the root keys it shows for both parties are the ones the protocol code
// computed (lab.NewVisual, which checks them against ratchet.State).
func TestBrowser(t *testing.T) {
	h, err := NewHandler(1)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	v, err := lab.NewVisual(1)
	if err != nil {
		t.Fatal(err)
	}

	dom := chromium(t, srv.URL+"/?step=9", "--dump-dom")
	if !strings.Contains(dom, `data-ready="true"`) || !strings.Contains(dom, `data-step="9"`) {
		t.Fatalf("the page did not render step 9:\n%s", dom)
	}
	if n := strings.Count(dom, `<tr data-step=`); n != len(v.Steps) {
		t.Fatalf("the timeline has %d rows, want %d", n, len(v.Steps))
	}
	for _, s := range v.Steps {
		for _, ps := range []lab.PartyState{s.Alice, s.Bob} {
			if !ps.Started {
				continue
			}
			want := `<span class="name">` + ps.Root.Name + `</span><span class="fp">` + ps.Root.FP + `</span>`
			if !strings.Contains(dom, want) {
				t.Errorf("step %d: root key %s %s not drawn", s.N, ps.Root.Name, ps.Root.FP)
			}
		}
	}
	// Step 9 is Bob's DH ratchet step on m5: the page shows it, and Bob's
	// panel holds the new root key and the skipped key.
	st := v.Steps[9]
	for _, want := range []string{"DH ratchet step", "Bob receives m5", st.DHStep.Root.FP, st.Skipped[0].FP, `class="badge flight"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("step 9: the page lacks %q", want)
		}
	}

	if *screenshot != "" {
		chromium(t, srv.URL+"/?step=9", "--hide-scrollbars", "--window-size=1400,1000", "--screenshot="+*screenshot)
		if fi, err := os.Stat(*screenshot); err != nil || fi.Size() == 0 {
			t.Fatalf("no screenshot written: %v", err)
		}
	}
}
