package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labDocsDir holds the exercises whose commands TestLabDocs runs.
const labDocsDir = "../../docs/labs"

// labRun runs `blindpost args...` in-process as main would, and returns
// standard output, standard error (with main's "blindpost: " error line)
// and the exit status.
func labRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr strings.Builder
	env := &environment{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	err := run(context.Background(), env, args)
	code := 0
	if err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(&stderr, "blindpost: %v\n", err)
		}
		code = exitCode(err)
	}
	return stdout.String(), stderr.String(), code
}

// docCommand is one `$ ./blindpost ...` line of a console block and the
// output shown under it.
type docCommand struct {
	file string
	line int
	args []string
	want []string
}

// docCommands reads the console blocks of the lab docs. In a block, a line
// "$ ./blindpost ARGS" is a command; the lines under it, up to the next
// command, are its expected output: runs of consecutive lines, separated
// by "...", that must appear in this order. A last line "(exit status N)"
// gives a non-zero exit status.
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(labDocsDir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lab docs in %s: %v", labDocsDir, err)
	}
	var cmds []docCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for i, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "```console"):
				in = true
			case strings.HasPrefix(line, "```"):
				in = false
			case !in:
			case strings.HasPrefix(line, "$ "):
				fields := strings.Fields(strings.TrimPrefix(line, "$ "))
				if len(fields) == 0 || fields[0] != "./blindpost" {
					t.Fatalf("%s:%d: a console block may only run ./blindpost: %q", f, i+1, line)
				}
				cmds = append(cmds, docCommand{file: filepath.Base(f), line: i + 1, args: fields[1:]})
			case len(cmds) > 0:
				c := &cmds[len(cmds)-1]
				c.want = append(c.want, strings.TrimRight(line, " "))
			}
		}
	}
	return cmds
}

// TestLabDocs runs every command of docs/labs and checks that what the
// docs show under it is what it prints: the exercises' claims are the
// labs' output.
func TestLabDocs(t *testing.T) {
	cmds := docCommands(t)
	if len(cmds) < 8 {
		t.Fatalf("only %d commands in the lab docs", len(cmds))
	}
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := labRun(t, c.args...)
			want, wantCode := c.want, 0
			if n := len(want); n > 0 {
				if _, err := fmt.Sscanf(want[n-1], "(exit status %d)", &wantCode); err == nil {
					want = want[:n-1]
				}
			}
			if code != wantCode {
				t.Fatalf("exit status %d, docs say %d\n%s", code, wantCode, stderr)
			}
			if err := matchExcerpt(stdout+stderr, want); err != nil {
				t.Fatalf("%v\n--- output of blindpost %s:\n%s", err, strings.Join(c.args, " "), stdout+stderr)
			}
		})
	}
}

// matchExcerpt checks that the runs of want (split at "..." lines) occur
// in out as consecutive lines, in order.
func matchExcerpt(out string, want []string) error {
	lines := strings.Split(out, "\n")
	pos := 0
	var run []string
	flush := func(anchored bool) error {
		if len(run) == 0 {
			return nil
		}
		for i := pos; i+len(run) <= len(lines); i++ {
			if equalLines(lines[i:i+len(run)], run) {
				pos = i + len(run)
				run = nil
				return nil
			}
			if anchored {
				break
			}
		}
		return fmt.Errorf("the docs show lines the command does not print here:\n%s", strings.Join(run, "\n"))
	}
	// The first run must start the output unless the excerpt starts with "...".
	anchored := len(want) > 0 && want[0] != "..."
	for _, w := range want {
		if w == "..." {
			if err := flush(anchored); err != nil {
				return err
			}
			anchored = false
			continue
		}
		run = append(run, w)
	}
	return flush(anchored)
}

func equalLines(a, b []string) bool {
	for i := range a {
		if strings.TrimRight(a[i], " ") != b[i] {
			return false
		}
	}
	return true
}

// TestLabDocsExercises checks the docs' structure: every exercise has a
// goal, commands, what to observe and questions, and every lab is taught
// by some exercise.
func TestLabDocsExercises(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(labDocsDir, "0*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("%d exercises, want at least 6", len(files))
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"## Goal", "## Commands", "## What to observe", "## Questions"} {
			if !strings.Contains(string(b), "\n"+h+"\n") {
				t.Errorf("%s has no %q section", filepath.Base(f), h)
			}
		}
		all.Write(b)
	}
	for _, cmd := range []string{"lab x3dh", "lab ratchet", "lab pqxdh", "lab serve", "lab attack forward-secrecy", "lab attack post-compromise",
		"lab attack out-of-order", "lab attack mitm", "lab attack prekey-exhaustion", "lab attack provider"} {
		if !strings.Contains(all.String(), "./blindpost "+cmd) {
			t.Errorf("no exercise runs ./blindpost %s", cmd)
		}
	}
	if _, err := os.Stat(filepath.Join(labDocsDir, "ratchet-visual.png")); err != nil {
		t.Errorf("the visual ratchet's screenshot: %v", err)
	}
}

func TestLabPQXDH(t *testing.T) {
	stdout, stderr, code := labRun(t, "lab", "pqxdh", "--seed", "3")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "blindpost lab pqxdh (seed 3)\n") {
		t.Fatalf("exit %d, stderr %q, stdout %.80q", code, stderr, stdout)
	}
}

func TestLabUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"lab"},
		{"lab", "nope"},
		{"lab", "attack"},
		{"lab", "attack", "nope"},
		{"lab", "x3dh", "extra"},
		{"lab", "x3dh", "--seed", "-1"},
		{"lab", "attack", "forward-secrecy", "--steal-after", "12"},
		{"lab", "attack", "post-compromise", "--steal-after", "0"},
		{"lab", "attack", "mitm", "--steal-after", "3"},
	} {
		if _, _, code := labRun(t, args...); code != 2 {
			t.Errorf("blindpost %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}

// TestLabServe runs `blindpost lab serve` in-process: the first line of
// standard output is a loopback URL that serves the page and the steps,
// and cancelling the context stops it cleanly.
func TestLabServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	env := &environment{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, env, []string{"lab", "serve", "--seed", "2"})
		pw.Close()
		done <- err
	}()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL: %v (%s)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("first line %q is not a loopback URL", url)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for path, ctype := range map[string]string{"": "text/html; charset=utf-8", "steps.json": "application/json"} {
		resp, err := client.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype {
			t.Fatalf("GET /%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if path == "steps.json" && !strings.HasPrefix(string(b), `{"seed":2,`) {
			t.Fatalf("steps.json for the wrong seed: %.40s", b)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestMatchExcerpt checks the excerpt matcher TestLabDocs relies on.
func TestMatchExcerpt(t *testing.T) {
	out := "title\na\nb\nc\nd\n"
	for _, c := range []struct {
		want []string
		ok   bool
	}{
		{[]string{"title", "...", "b", "c"}, true},
		{[]string{"...", "c", "d"}, true},
		{[]string{"title", "a", "...", "d"}, true},
		{[]string{"a"}, false},                      // must start the output
		{[]string{"title", "...", "b", "d"}, false}, // b and d are not adjacent
		{[]string{"...", "c", "...", "b"}, false},   // out of order
		{[]string{"title", "...", "e"}, false},
	} {
		if err := matchExcerpt(out, c.want); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.want, err)
		}
	}
}
