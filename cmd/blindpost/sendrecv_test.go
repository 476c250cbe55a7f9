package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds blindpost into a temporary folder once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "blindpost")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// relayProc is a `blindpost relay` process.
type relayProc struct {
	cmd *exec.Cmd
	url string
}

func startRelayProc(t *testing.T, bin, listen, data string) *relayProc {
	t.Helper()
	cmd := exec.Command(bin, "relay", "--listen", listen, "--data", data)
	cmd.Env = append(os.Environ(), "BLINDPOST_LISTEN=", "BLINDPOST_DATA=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("relay printed no URL: %v", err)
	}
	r := &relayProc{cmd: cmd, url: strings.TrimSpace(line)}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *relayProc) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}

// clientRun runs a client command for a user with its own data folder.
func clientRun(t *testing.T, bin, home, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+home, "BLINDPOST_RELAY=", "BLINDPOST_PROFILE=", "BLINDPOST_NAME=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%v: %w\nstderr: %s", args, err, errb.String())
	}
	return out.String(), err
}

func received(t *testing.T, out string) []recvLine {
	t.Helper()
	var lines []recvLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l recvLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("recv printed %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// TestSendRecvEndToEnd runs two users through the real binary and a real
// relay process: offline delivery, and a relay restart in the middle.
func TestSendRecvEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	r := startRelayProc(t, bin, "127.0.0.1:0", data)
	alice, bob := t.TempDir(), t.TempDir()
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Bob registers, then is offline for everything that follows.
	must(clientRun(t, bin, bob, "", "recv", "--name", "bob", "--relay", r.url))
	must(clientRun(t, bin, alice, "", "send", "--name", "alice", "--relay", r.url, "--to", "bob", "first, as an argument"))
	must(clientRun(t, bin, alice, "second line\nthird line\n", "send", "--relay", r.url, "--to", "bob"))

	// Restart the relay on the same address, with the same data.
	r.stop()
	addr := strings.TrimPrefix(r.url, "ws://")
	r = startRelayProc(t, bin, addr, data)
	must(clientRun(t, bin, alice, "after the restart\n", "send", "--relay", r.url, "--to", "bob"))

	got := received(t, must(clientRun(t, bin, bob, "", "recv", "--relay", r.url, "--wait", "300ms")))
	want := []string{"first, as an argument", "second line", "third line", "after the restart"}
	if len(got) != len(want) {
		t.Fatalf("bob received %d messages, want %d: %+v", len(got), len(want), got)
	}
	ids := map[string]bool{}
	for i, l := range got {
		if l.Text != want[i] || l.From != "alice" || l.ID == "" || l.SentAt.IsZero() {
			t.Errorf("message %d: %+v, want text %q from alice", i, l, want[i])
		}
		if ids[l.ID] {
			t.Errorf("message id %s shown twice", l.ID)
		}
		ids[l.ID] = true
	}
	// Nothing is shown twice.
	if again := received(t, must(clientRun(t, bin, bob, "", "recv", "--relay", r.url))); len(again) != 0 {
		t.Fatalf("second recv printed %+v", again)
	}
	// And the reply path works.
	must(clientRun(t, bin, bob, "", "send", "--relay", r.url, "--to", "alice", "got them all"))
	back := received(t, must(clientRun(t, bin, alice, "", "recv", "--relay", r.url)))
	if len(back) != 1 || back[0].Text != "got them all" || back[0].From != "bob" {
		t.Fatalf("alice received %+v", back)
	}
}

func TestSendUsageErrors(t *testing.T) {
	env, _, errb := testEnv("")
	if err := run(t.Context(), env, []string{"send", "hello"}); err == nil {
		t.Fatal("send without --to succeeded")
	}
	if !strings.Contains(errb.String(), "usage: blindpost send") {
		t.Fatalf("no usage: %q", errb.String())
	}
}

func testEnv(stdin string) (*environment, *strings.Builder, *strings.Builder) {
	var out, errb strings.Builder
	return &environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}
