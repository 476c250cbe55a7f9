package relay_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/blindpost/blindpost"

// TestBlindByConstruction checks that the relay and everything it builds
// on, tests included, reach no session code: of this module's packages,
// only identity (for signatures), the relay's frames and the relay's own
// packages may appear.
func TestBlindByConstruction(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", module+"/relay/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := modulePackages(string(out))
	if len(pkgs) < 5 {
		t.Fatalf("go list reported only %d module packages: the check saw nothing", len(pkgs))
	}
	for _, p := range forbiddenDeps(pkgs) {
		t.Errorf("relay depends on %s", p)
	}
}

// TestBlindCheckCatches makes sure the check above can fail.
func TestBlindCheckCatches(t *testing.T) {
	pkgs := modulePackages(module + "/relay\n" + module + "/ratchet\n" + module + "/x3dh [" + module + "/relay.test]\n" +
		module + "/relay/client_test [" + module + "/relay/client.test]\ngolang.org/x/crypto/hkdf\n")
	got := forbiddenDeps(pkgs)
	if len(got) != 2 || got[0] != module+"/ratchet" || got[1] != module+"/x3dh" {
		t.Fatalf("forbidden = %v", got)
	}
}

// modulePackages extracts this module's packages from go list output,
// mapping test variants ("p [q.test]", "p_test", "p.test") to p.
func modulePackages(out string) []string {
	var pkgs []string
	for _, line := range strings.Split(out, "\n") {
		pkg, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		pkg = strings.TrimSuffix(strings.TrimSuffix(pkg, ".test"), "_test")
		if pkg == module || strings.HasPrefix(pkg, module+"/") {
			pkgs = append(pkgs, pkg)
		}
	}
	return pkgs
}

// forbiddenDeps returns the packages the relay may not depend on.
func forbiddenDeps(pkgs []string) []string {
	var bad []string
	for _, pkg := range pkgs {
		switch {
		case pkg == module+"/identity", pkg == module+"/proto/relaypb":
		case pkg == module+"/relay", strings.HasPrefix(pkg, module+"/relay/"):
		default:
			bad = append(bad, pkg)
		}
	}
	return bad
}
