package interop_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/interop/referee"
)

// requiredEnv, when "1", turns a missing peer prerequisite into a test
// failure instead of a skip (for CI, where every peer must run).
const requiredEnv = "BLINDPOST_INTEROP_REQUIRED"

// buildTimeout bounds one `go build` of a peer.
const buildTimeout = 5 * time.Minute

// peer is an implementation the test can run, or the reason it cannot.
type peer struct {
	impl    referee.Impl
	missing string
}

// locatePeers builds blindpost's binary and the gomau peer into dir and
// finds the three node peers (libsignal 0.72.1 in interop/node, 0.90.0 in
// interop/node-0.90, 0.103.0 in interop/node-current). A peer whose prerequisites are absent is returned
// with the reason; a build that fails is a test failure.
func locatePeers(t *testing.T, dir string) map[string]peer {
	t.Helper()
	root := repoRoot(t)
	return map[string]peer{
		"blindpost":    blindpostPeer(t, root, dir, "blindpost", "offer"),
		"blindpost-pq": blindpostPeer(t, root, dir, "blindpost-pq", "require"),
		"gomau":        gomauPeer(t, root, dir),
		"node":         nodePeer(root, "node"),
		"node-0.90":    nodePeer(root, "node-0.90"),
		"node-current": nodePeer(root, "node-current"),
	}
}

// repoRoot is the repository's root directory (the test runs in interop/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// blindpostPeer is `blindpost interop peer --spqr spqr` under name:
// "blindpost" offers SPQR (and so also runs with libsignal 0.72.1),
// "blindpost-pq" requires it, as blindpost's own clients do.
func blindpostPeer(t *testing.T, root, dir, name, spqr string) peer {
	bin := filepath.Join(dir, "blindpost")
	if _, err := os.Stat(bin); err != nil {
		if err := goBuild(t.Context(), root, bin, "./cmd/blindpost"); err != nil {
			t.Fatalf("build blindpost: %v", err)
		}
	}
	impl := referee.Impl{Name: name, Argv: []string{bin, "interop", "peer", "--spqr", spqr}}
	if err := probe(t.Context(), impl); err != nil {
		return peer{missing: fmt.Sprintf("`blindpost interop peer` does not answer quit: %v", err)}
	}
	return peer{impl: impl}
}

func gomauPeer(t *testing.T, root, dir string) peer {
	src := filepath.Join(root, "interop", "gomau")
	if files, _ := filepath.Glob(filepath.Join(src, "*.go")); len(files) == 0 {
		return peer{missing: "no Go sources in interop/gomau"}
	}
	bin := filepath.Join(dir, "gomau-peer")
	if err := goBuild(t.Context(), src, bin, "."); err != nil {
		t.Fatalf("build the gomau peer: %v", err)
	}
	return peer{impl: referee.Impl{Name: "gomau", Argv: []string{bin}}}
}

// nodePeer finds the Node.js peer in interop/<name>, whose implementation
// is also called name: a peer.js beside the libsignal-client its
// package-lock.json pins.
func nodePeer(root, name string) peer {
	dir := filepath.Join(root, "interop", name)
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		return peer{missing: "node is not installed"}
	case !exists(filepath.Join(dir, "peer.js")):
		return peer{missing: "interop/" + name + "/peer.js does not exist"}
	case !exists(filepath.Join(dir, "node_modules", "@signalapp", "libsignal-client")):
		return peer{missing: "interop/" + name + "/node_modules is missing: run `npm ci` in interop/" + name}
	}
	return peer{impl: referee.Impl{Name: name, Argv: []string{node, filepath.Join(dir, "peer.js")}}}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// goBuild runs `go build -o out pkg` in dir, outside any workspace.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// probe starts a peer and asks it to quit, to tell a missing subcommand
// from a working peer.
func probe(ctx context.Context, impl referee.Impl) error {
	p, err := referee.StartPeer(ctx, impl, impl.Name, 10*time.Second)
	if err != nil {
		return err
	}
	defer p.Kill()
	return p.Quit()
}

// need skips t (or fails it when requiredEnv is set) unless both peers of a
// pairing are available.
func need(t *testing.T, peers ...peer) {
	t.Helper()
	var missing []error
	for i, p := range peers {
		if p.missing != "" && (i == 0 || p.missing != peers[0].missing) {
			missing = append(missing, errors.New(p.missing))
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf("%v (%s=1)", errors.Join(missing...), requiredEnv)
	}
	t.Skipf("%v (set %s=1 to make this a failure)", errors.Join(missing...), requiredEnv)
}
