package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childPeer is the peer running as a separate process: this test binary re-executed with
// GOMAU_PEER_CHILD=1 (see TestMain), talking over real pipes as the referee would.
type childPeer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte // stdout, line by line; closed at EOF
	stderr bytes.Buffer
}

const childTimeout = 10 * time.Second

func startChild(t *testing.T, name string, env ...string) *childPeer {
	t.Helper()
	c := &childPeer{t: t, name: name, lines: make(chan []byte, 16)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), append([]string{"GOMAU_PEER_CHILD=1"}, env...)...)
	c.cmd.Stderr = &c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				c.lines <- line
			}
			if err != nil {
				close(c.lines)
				return
			}
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	return c
}

// send writes one request line.
func (c *childPeer) send(line []byte) {
	c.t.Helper()
	if _, err := c.stdin.Write(append(line, '\n')); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// readLine returns the next stdout line, without its newline.
func (c *childPeer) readLine() []byte {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			c.t.Fatalf("%s: stdout closed; stderr:\n%s", c.name, c.stderr.String())
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			c.t.Fatalf("%s: unterminated line %q", c.name, line)
		}
		return bytes.TrimSuffix(line, []byte("\n"))
	case <-time.After(childTimeout):
		c.t.Fatalf("%s: no reply within %v", c.name, childTimeout)
		return nil
	}
}

// call sends a request and reads its reply, which must be one JSON object.
func (c *childPeer) call(req obj) obj {
	c.t.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(line)
	var reply obj
	if out := c.readLine(); json.Unmarshal(out, &reply) != nil {
		c.t.Fatalf("%s: reply is not JSON: %.200q", c.name, out)
	}
	return reply
}

func (c *childPeer) ok(req obj) obj {
	c.t.Helper()
	reply := c.call(req)
	if reply["ok"] != true {
		c.t.Fatalf("%s %v: %v", c.name, req["op"], reply)
	}
	return reply
}

// wait waits for the process to exit and checks it exited 0 with nothing more on stdout.
func (c *childPeer) wait() {
	c.t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Fatalf("%s exited with %v; stderr:\n%s", c.name, err, c.stderr.String())
		}
	case <-time.After(childTimeout):
		c.t.Fatalf("%s did not exit within %v", c.name, childTimeout)
	}
	if extra, ok := <-c.lines; ok {
		c.t.Fatalf("%s wrote more to stdout: %.200q", c.name, extra)
	}
}

// TestChildProcesses runs two peer processes: 64 KiB messages over the pipes, bad lines, exit 0
// after quit and at end of input, nothing but replies on stdout.
func TestChildProcesses(t *testing.T) {
	alice, bob := startChild(t, "alice"), startChild(t, "bob")
	for _, c := range []*childPeer{alice, bob} {
		c.ok(obj{"op": "init", "name": c.name, "device_id": 1, "registration_id": 42})
	}
	addr := func(c *childPeer) obj { return obj{"name": c.name, "device_id": 1} }
	b := bob.ok(obj{"op": "bundle", "one_time_prekey": true, "kyber": false})["bundle"]
	alice.ok(obj{"op": "process_bundle", "remote": addr(bob), "bundle": b})

	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	from, to := alice, bob
	for i := range 4 {
		pt := append(big, byte(i))
		m := from.ok(obj{"op": "encrypt", "remote": addr(to), "plaintext": pt})
		d := to.ok(obj{"op": "decrypt", "remote": addr(from), "type": m["type"], "ciphertext": m["ciphertext"]})
		if got := bytesField(t, d, "plaintext"); !bytes.Equal(got, pt) {
			t.Fatalf("message %d: plaintext differs", i)
		}
		from, to = to, from
	}

	// Lines that are not requests get an error reply each, and the peer goes on.
	for _, line := range []string{"not json", "", `{"op":"init","name":"x","device_id":1,"registration_id":1}`} {
		bob.send([]byte(line))
		var reply obj
		if err := json.Unmarshal(bob.readLine(), &reply); err != nil || kind(reply) != kindBadRequest {
			t.Fatalf("line %q: reply %v (%v), want bad_request", line, reply, err)
		}
	}
	bob.ok(obj{"op": "session", "remote": addr(alice)})

	// quit: reply, then exit 0.
	if reply := alice.call(obj{"op": "quit"}); reply["ok"] != true {
		t.Fatalf("quit: %v", reply)
	}
	alice.wait()
	// End of input: exit 0.
	if err := bob.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	bob.wait()
}

// TestDefectDefaultLoggerWritesToStdout shows why the peer replaces the library's logger: left as it
// is, the library prints its log lines to standard output (logger/DefaultLogger.go uses fmt.Println),
// here before the reply to a malformed message, which would break the reply stream.
func TestDefectDefaultLoggerWritesToStdout(t *testing.T) {
	c := startChild(t, "carol", "GOMAU_PEER_LIBRARY_LOGGER=default")
	c.ok(obj{"op": "init", "name": c.name, "device_id": 1, "registration_id": 42})
	req, _ := json.Marshal(obj{"op": "decrypt", "remote": obj{"name": "x", "device_id": 1}, "type": 2,
		"ciphertext": []byte{0x33, 1, 2}})
	c.send(req)
	line := c.readLine()
	if json.Valid(line) || !strings.HasPrefix(string(line), "[ERROR]") {
		t.Fatalf("first stdout line %.200q: want the library's own [ERROR] log line", line)
	}
	// The reply follows somewhere after the log lines.
	for {
		line = c.readLine()
		if json.Valid(line) {
			break
		}
	}
	var reply obj
	if err := json.Unmarshal(line, &reply); err != nil || kind(reply) != kindInvalidMessage {
		t.Fatalf("reply %q (%v), want invalid_message", line, err)
	}
	if err := c.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("exit: %v", err)
	}
}
