package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Regression: text from the network must not reach the terminal as
// control sequences.
func TestReceivedTextCannotDriveTheTerminal(t *testing.T) {
	url := startRelay(t)
	alice, bob := newUI(t, "alice", url).online(), newUI(t, "bob", url).online()
	bob.typeLine("/add alice")
	bob.waitScreen("added alice")
	if _, err := bob.ms.Send(t.Context(), "alice", "evil\x1b[2J\x1b]0;pwned\x07 \u202egnp.exe\u202c\r\nmore"); err != nil {
		t.Fatal(err)
	}
	alice.waitScreen("bob    evil")
	s := alice.screen()
	if strings.ContainsAny(s, "\x1b\x07\r\u202e\u202c") {
		t.Fatalf("control characters reached the screen: %q", s)
	}
	if !strings.Contains(s, "evil\uFFFD[2J\uFFFD]0;pwned\uFFFD \uFFFDgnp.exe\uFFFD\uFFFD") || !strings.Contains(s, "more") {
		t.Fatalf("sanitized text not shown as expected:\n%s", s)
	}
}

func TestLayoutFitsTheTerminal(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	alice.typeLine("/add bob-with-a-rather-long-name-for-the-list")
	alice.typeLine("/help")
	for _, size := range [][2]int{{120, 35}, {80, 24}, {47, 12}, {30, 6}, {20, 5}, {19, 40}, {12, 4}} {
		alice.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(alice.screen(), "\n")
		want := size[1]
		if size[0] < minWidth || size[1] < minHeight {
			want = 1 // "terminal too small"
		}
		if len(lines) != want {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := lipgloss.Width(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, l)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want []string
	}{
		{"", 5, []string{""}},
		{"  keep  spaces", 20, []string{"  keep  spaces"}},
		{"one two three", 7, []string{"one two", "three"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"ab ✓✓✓✓✓", 3, []string{"ab", "✓✓✓", "✓✓"}},
	} {
		if got := wrap(tc.in, tc.w); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
	if got := truncate("abcdef", 4); got != "abc…" {
		t.Errorf("truncate = %q", got)
	}
}

func TestContactListKeepsOpenOneInSight(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"} {
		alice.typeLine("/add " + name)
		alice.waitScreen("added " + name)
	}
	alice.send(tea.WindowSizeMsg{Width: 80, Height: 8}) // 4 rows of contacts
	if !alice.shows("▸ a9") {
		t.Fatalf("the open contact is out of sight:\n%s", alice.screen())
	}
	alice.send(tea.KeyMsg{Type: tea.KeyTab})
	alice.waitScreen("▸ a1")
}

// Regression: the viewport was narrower than the lines drawn into it, and
// cut the last cell of the longest ones.
func TestLongNotesAreWrappedNotCut(t *testing.T) {
	alice := newUI(t, "alice", "ws://127.0.0.1:1")
	alice.typeLine("/add bob")
	text := changedWarning("bob")
	alice.m.addNote("bob", noteWarn, text)
	for w := 40; w <= 140; w++ {
		alice.send(tea.WindowSizeMsg{Width: w, Height: 40})
		if !alice.shows(text) {
			t.Fatalf("width %d: the note is not shown whole:\n%s", w, alice.screen())
		}
	}
}
