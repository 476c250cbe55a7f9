package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxServer is a private tmux server (its own socket) whose windows run
// the real binary in a real terminal, driven with send-keys and read with
// capture-pane, as a person would.
type tmuxServer struct {
	t      *testing.T
	tmux   string
	socket string
	made   bool
}

func newTmux(t *testing.T) *tmuxServer {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("BLINDPOST_TUI_REQUIRED") == "1" {
			t.Fatal("tmux is not installed, and BLINDPOST_TUI_REQUIRED=1 says this test must run")
		}
		t.Skip("tmux is not installed: skipping the chat's terminal test (apt-get install tmux; BLINDPOST_TUI_REQUIRED=1 makes this a failure)")
	}
	s := &tmuxServer{t: t, tmux: path, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() {
		if s.made {
			exec.Command(s.tmux, "-S", s.socket, "kill-server").Run()
		}
	})
	return s
}

func (s *tmuxServer) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pane is one tmux window running one command.
type pane struct {
	s      *tmuxServer
	target string
}

// window runs argv in a new 120×35 window named name, with env added to
// its environment. When argv exits, the window stays, saying so.
func (s *tmuxServer) window(name string, env []string, argv ...string) *pane {
	s.t.Helper()
	words := []string{"env", "-u", "BLINDPOST_PASSPHRASE", "-u", "BLINDPOST_PASSPHRASE_FILE", "-u", "BLINDPOST_NAME"}
	for _, w := range append(env, argv...) {
		words = append(words, shellQuote(w))
	}
	cmd := strings.Join(words, " ") + `; echo "[exited: $?]"; sleep 600`
	if !s.made {
		s.run("new-session", "-d", "-s", "chat", "-x", "120", "-y", "35", "-n", name, cmd)
		s.made = true
	} else {
		s.run("new-window", "-d", "-t", "chat", "-n", name, cmd)
	}
	return &pane{s: s, target: "chat:" + name}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (p *pane) capture() string { return p.s.run("capture-pane", "-p", "-t", p.target) }

// typeLine types text literally, then presses enter.
func (p *pane) typeLine(text string) {
	p.s.t.Helper()
	p.s.run("send-keys", "-t", p.target, "-l", text)
	p.s.run("send-keys", "-t", p.target, "Enter")
}

// waitFor polls the screen until it matches re, or fails at a deadline;
// it returns the screen.
func (p *pane) waitFor(re string) string {
	p.s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(15 * time.Second)
	for {
		screen := p.capture()
		if rx.MatchString(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			p.s.t.Fatalf("%s: timed out waiting for %q; screen:\n%s", p.target, re, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// safetyNumber reads the 12 groups under the last safety number title.
func safetyNumber(t *testing.T, screen string) string {
	t.Helper()
	lines := strings.Split(screen, "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(l, "safety number of your conversation with") {
			start = i
		}
	}
	if start < 0 || start+4 > len(lines) {
		t.Fatalf("no safety number on screen:\n%s", screen)
	}
	var groups []string
	for _, l := range lines[start+1 : start+4] {
		groups = append(groups, regexp.MustCompile(`\b\d{5}\b`).FindAllString(l, -1)...)
	}
	if len(groups) != 12 {
		t.Fatalf("safety number of %d groups %q on screen:\n%s", len(groups), groups, screen)
	}
	return strings.Join(groups, " ")
}

// TestChatInTmux is issue 5's person at the keyboard: two `blindpost chat`
// sessions in two terminals, through a `blindpost relay` process. Alice
// adds Bob and writes, Bob's screen shows it and he replies, both see
// delivered marks, and /verify shows both the same safety number.
func TestChatInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary in tmux")
	}
	tm := newTmux(t)
	bin := buildBinary(t)
	r := startRelayProc(t, bin, "127.0.0.1:0", t.TempDir())
	xdg := t.TempDir()
	user := func(name string) *pane {
		dir := filepath.Join(t.TempDir(), name)
		return tm.window(name, []string{"XDG_DATA_HOME=" + xdg, "BLINDPOST_RELAY=", "BLINDPOST_PROFILE="},
			bin, "chat", "--name", name, "--profile", dir, "--relay", r.url)
	}
	alice, bob := user("alice"), user("bob")
	alice.waitFor(`● connected │ you: alice`)
	bob.waitFor(`● connected │ you: bob`)

	alice.typeLine("/add bob")
	alice.waitFor(`added bob: say hello`)
	alice.waitFor(`bob · session v4 · unverified │ you: alice`)
	alice.typeLine("hello bob, it's alice")
	bob.waitFor(`\d\d:\d\d alice +hello bob, it's alice`)
	bob.waitFor(`▸ alice`)
	bob.typeLine("hi alice!")
	alice.waitFor(`\d\d:\d\d bob +hi alice!`)
	alice.waitFor(`hello bob, it's alice ✓✓`)
	bob.waitFor(`hi alice! ✓✓`)

	alice.typeLine("/verify")
	bob.typeLine("/verify")
	na := safetyNumber(t, alice.waitFor(`same number on bob's screen\? \(y/n\)`))
	nb := safetyNumber(t, bob.waitFor(`same number on alice's screen\? \(y/n\)`))
	if na != nb {
		t.Fatalf("the two screens show different safety numbers:\nalice: %s\nbob:   %s", na, nb)
	}
	alice.typeLine("y")
	bob.typeLine("y")
	screenA := alice.waitFor(`bob · session v4 · ✔ verified │ you: alice`)
	screenB := bob.waitFor(`alice · session v4 · ✔ verified │ you: bob`)
	t.Logf("alice's screen:\n%s\nbob's screen:\n%s", screenA, screenB)

	alice.typeLine("/quit")
	alice.waitFor(`\[exited: 0\]`)
}
