package tui

import (
	"context"
	"crypto/rand"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/session"
)

// These tests drive the model with bubbletea messages, as the program
// would, against real messengers and an in-process relay; no terminal.
// Commands run synchronously in the test goroutine and their results are
// fed back into Update.

func startRelay(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.New(relay.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "ws://" + l.Addr().String()
}

// ui is one user's model with its messenger; events wait in a channel
// until pump feeds them to the model.
type ui struct {
	t      *testing.T
	name   string
	m      *Model
	ms     *messenger.Messenger
	p      *profile.Profile
	events chan messenger.Event
	quit   bool
}

func newUI(t *testing.T, name, relayURL string) *ui {
	t.Helper()
	p, err := profile.Open(filepath.Join(t.TempDir(), "profile.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, _, err := messenger.Setup(p, name, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	u := &ui{t: t, name: name, p: p, events: make(chan messenger.Event, 1000)}
	u.ms, err = messenger.New(messenger.Config{Profile: p, Relay: relayURL, OnEvent: func(e messenger.Event) { u.events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	u.m, err = New(Config{Messenger: u.ms, Profile: p, Relay: relayURL, Context: t.Context()})
	if err != nil {
		t.Fatal(err)
	}
	u.do(u.m.Init())
	u.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	return u
}

// online runs the messenger's connection loop, as `blindpost chat` does,
// and waits until the status bar says so.
func (u *ui) online() *ui {
	u.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); u.ms.Run(ctx) }()
	u.t.Cleanup(func() { cancel(); <-done })
	u.waitScreen("● connected")
	return u
}

// send feeds msg to the model and runs the commands that follow.
func (u *ui) send(msg tea.Msg) {
	_, cmd := u.m.Update(msg)
	u.do(cmd)
}

func (u *ui) do(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			u.do(c)
		}
	case tea.QuitMsg:
		u.quit = true
	default:
		u.send(msg)
	}
}

// typeLine types s and presses enter.
func (u *ui) typeLine(s string) {
	u.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
	u.send(tea.KeyMsg{Type: tea.KeyEnter})
}

// pump feeds the events that arrived.
func (u *ui) pump() {
	for {
		select {
		case e := <-u.events:
			u.send(EventMsg(e))
		default:
			return
		}
	}
}

// wait pumps events until cond holds, or fails after a deadline.
func (u *ui) wait(what string, cond func() bool) {
	u.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u.pump()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s: timed out waiting for %s; screen:\n%s", u.name, what, u.m.View())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (u *ui) waitScreen(s string) {
	u.t.Helper()
	u.wait("the screen to show "+s, func() bool { return u.shows(s) })
}

// shows reports whether the screen shows s, in the contact list, the
// conversation (where s may be wrapped over several lines), the input
// line or the status bar; runs of spaces count as one.
func (u *ui) shows(s string) bool {
	var contacts, conv, rest []string
	for _, l := range strings.Split(u.screen(), "\n") {
		left, right, ok := strings.Cut(l, "││")
		switch {
		case ok:
			contacts = append(contacts, strings.Trim(left, "│"))
			conv = append(conv, strings.TrimSuffix(right, "│"))
		case strings.HasPrefix(l, "│"): // no contact list
			conv = append(conv, strings.Trim(l, "│"))
		default:
			rest = append(rest, l)
		}
	}
	flat := strings.Join(contacts, " | ") + " || " + strings.Join(conv, " ") + " || " + strings.Join(rest, " || ")
	return strings.Contains(collapse(flat), collapse(s))
}

var spaces = regexp.MustCompile(` +`)

func collapse(s string) string { return spaces.ReplaceAllString(s, " ") }

func (u *ui) screen() string { return u.m.View() }

func (u *ui) statusBar() string {
	lines := strings.Split(u.screen(), "\n")
	return lines[len(lines)-1]
}

// safetyNumber reads the last safety number on the screen: the three
// rows under its title.
func (u *ui) safetyNumber() string {
	u.t.Helper()
	lines := strings.Split(u.screen(), "\n")
	start := -1
	for i, l := range lines {
		if titleRE.MatchString(l) {
			start = i
		}
	}
	if start < 0 || start+4 > len(lines) {
		u.t.Fatalf("%s: no safety number on screen:\n%s", u.name, u.screen())
	}
	var groups []string
	for _, l := range lines[start+1 : start+4] {
		groups = append(groups, groupRE.FindAllString(l, -1)...)
	}
	if len(groups) != 12 {
		u.t.Fatalf("%s: safety number has %d groups: %q", u.name, len(groups), groups)
	}
	return strings.Join(groups, " ")
}

var (
	titleRE = regexp.MustCompile(`safety number (of|with) `)
	groupRE = regexp.MustCompile(`\b\d{5}\b`)
)

// trusted is the identity key u's profile trusts for name's device.
func (u *ui) trusted(name string) identity.PublicKey {
	u.t.Helper()
	k, _, err := u.p.TrustedIdentity(session.Address{Name: name, DeviceID: messenger.DeviceID})
	if err != nil {
		u.t.Fatalf("%s: trusted key of %s: %v", u.name, name, err)
	}
	return k
}

func (u *ui) contactRecord(name string) profile.Contact {
	u.t.Helper()
	c, ok, err := u.p.Contact(name)
	if err != nil || !ok {
		u.t.Fatalf("%s: contact %s: %v %v", u.name, name, ok, err)
	}
	return c
}
