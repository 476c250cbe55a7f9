package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/blindpost/blindpost/profile"
)

// Layout constants, in terminal cells.
const (
	contactsMin = 16 // narrowest contact list
	contactsMax = 28 // widest contact list
	hideBelow   = 48 // terminals narrower than this show no contact list
	minWidth    = 20 // smaller terminals get a one-line request to grow
	minHeight   = 5
	nameMax     = 16 // widest sender column in a conversation
)

// Styles. The 16 basic colours, so that any terminal shows them.
var (
	styleBorder  = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
	styleTitle   = lipgloss.NewStyle().Bold(true)
	styleFaint   = lipgloss.NewStyle().Faint(true)
	styleMe      = lipgloss.NewStyle().Foreground(lipgloss.Color("6")).Bold(true)
	styleThem    = lipgloss.NewStyle().Foreground(lipgloss.Color("5")).Bold(true)
	styleOK      = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleError   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	styleWarn    = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	stylePending = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	styleCurrent = lipgloss.NewStyle().Reverse(true)
)

// Sent marks.
const (
	markQueued    = "…"
	markSent      = "✓"
	markDelivered = "✓✓"
)

// View draws the screen: the contact list and the conversation side by
// side, then the input line and the status bar.
func (m *Model) View() string {
	switch {
	case m.width == 0 || m.height == 0:
		return ""
	case m.width < minWidth || m.height < minHeight:
		return truncate("blindpost: make the terminal larger", m.width)
	}
	paneH := m.height - 2
	cw := m.contactsWidth()
	title := "no conversation"
	if m.selected != "" {
		title = sanitize(m.selected)
	}
	conv := box(title, strings.Split(m.view.View(), "\n"), m.width-cw, paneH)
	panes := conv
	if cw > 0 {
		list := m.contactLines(cw - 2)
		if i := m.contactIndex(m.selected); i >= paneH-2 {
			list = list[i-(paneH-2)+1:] // keep the open one in sight
		}
		panes = lipgloss.JoinHorizontal(lipgloss.Top, box("contacts", list, cw, paneH), conv)
	}
	return panes + "\n" + m.input.View() + "\n" + m.statusBar()
}

// contactsWidth is the contact list's outer width (0: hidden).
func (m *Model) contactsWidth() int {
	if m.width < hideBelow {
		return 0
	}
	return min(max(m.width/5, contactsMin), contactsMax)
}

// textWidth is the width of the conversation's text: the pane less its
// border and a margin of one cell on each side.
func (m *Model) textWidth() int { return max(m.width-m.contactsWidth()-4, 10) }

// layout sizes the parts after the terminal changed size.
func (m *Model) layout() {
	m.view.Width = m.textWidth() + 2 // the margins are in the lines
	m.view.Height = max(m.height-2-2, 1)
	m.setPrompt()
	m.refresh(true)
}

// setPrompt sets the input line's prompt and placeholder for the state.
func (m *Model) setPrompt() {
	m.input.Prompt, m.input.PromptStyle = "› ", styleFaint
	c, _ := m.contact(m.selected)
	name := sanitize(m.selected)
	switch {
	case m.prompt != nil:
		m.input.Prompt = "same number on " + sanitize(m.prompt.name) + "'s screen? (y/n) › "
		m.input.PromptStyle = stylePending
		m.input.Placeholder = ""
	case m.selected == "":
		m.input.Placeholder = "type /add NAME to start a conversation, /help for commands"
	case c.PendingKey != nil:
		m.input.Placeholder = "sending to " + name + " is blocked: /approve or /verify"
	default:
		m.input.Placeholder = "message " + name + " · /help for commands"
	}
	m.input.Width = max(m.width-lipgloss.Width(m.input.Prompt)-1, 1)
}

// refresh redraws the conversation into the viewport, keeping it scrolled
// to the end if it was there (or if toEnd).
func (m *Model) refresh(toEnd bool) {
	if m.width == 0 {
		return
	}
	atEnd := m.view.AtBottom()
	m.view.SetContent(strings.Join(m.conversationLines(m.textWidth()), "\n"))
	if toEnd || atEnd {
		m.view.GotoBottom()
	}
}

// conversationLines draws the open conversation: its messages with the
// notes placed among them, each a margin of one cell in.
func (m *Model) conversationLines(w int) []string {
	notes := m.notes[m.selected]
	var out []string
	nameW := min(max(lipgloss.Width(m.myName), lipgloss.Width(sanitize(m.selected))), nameMax)
	for _, msg := range m.history {
		for len(notes) > 0 && notes[0].after < msg.Seq {
			out = append(out, noteLines(notes[0], w)...)
			notes = notes[1:]
		}
		out = append(out, m.messageLines(msg, nameW, w)...)
	}
	for _, n := range notes {
		out = append(out, noteLines(n, w)...)
	}
	for i, l := range out {
		out[i] = " " + l
	}
	return out
}

// messageLines draws one message: time, sender, text wrapped under
// itself, and for outgoing messages the mark of its status.
func (m *Model) messageLines(msg profile.Message, nameW, w int) []string {
	from, style := sanitize(msg.From), styleThem
	if msg.Outgoing {
		from, style = m.myName, styleMe
	}
	prefix := styleFaint.Render(msg.SentAt.Local().Format("15:04")) + " " + style.Render(padRight(truncate(from, nameW), nameW)) + "  "
	indent := strings.Repeat(" ", 5+1+nameW+2)
	textW := max(w-len(indent), 8)
	var body []string
	for _, para := range strings.Split(msg.Text, "\n") {
		body = append(body, wrap(sanitize(para), textW)...)
	}
	if msg.Outgoing {
		mark := statusMark(msg.Status)
		last := len(body) - 1
		if lipgloss.Width(body[last])+1+lipgloss.Width(mark) <= textW {
			body[last] += " " + markStyle(msg.Status).Render(mark)
		} else {
			body = append(body, markStyle(msg.Status).Render(mark))
		}
	}
	out := make([]string, len(body))
	for i, l := range body {
		if i == 0 {
			out[i] = prefix + l
		} else {
			out[i] = indent + l
		}
	}
	return out
}

func statusMark(status string) string {
	switch status {
	case profile.StatusDelivered:
		return markDelivered
	case profile.StatusSent:
		return markSent
	}
	return markQueued
}

func markStyle(status string) lipgloss.Style {
	if status == profile.StatusDelivered {
		return styleOK
	}
	return styleFaint
}

// noteLines draws a note: "* " then its lines, wrapped, in its level's
// colour; a warning starts with "⚠".
func noteLines(n note, w int) []string {
	style, first := lipgloss.NewStyle(), "* "
	switch n.level {
	case noteOK:
		style = styleOK
	case noteError:
		style = styleError
	case noteWarn:
		style, first = styleWarn, "⚠ "
	}
	var out []string
	for i, line := range n.lines {
		lead := "  "
		if i == 0 {
			lead = first
		}
		for j, l := range wrap(sanitize(line), w-2) {
			if j > 0 {
				lead = "  "
			}
			out = append(out, style.Render(lead+l))
		}
	}
	return out
}

// contactLines draws the contact list: "▸" marks the open conversation,
// "⚠" a changed safety number, "✔" a verified contact, (n) unread
// messages.
func (m *Model) contactLines(w int) []string {
	if len(m.contacts) == 0 {
		return []string{styleFaint.Render(" (none yet)")}
	}
	out := make([]string, 0, len(m.contacts))
	for _, c := range m.contacts {
		var badges []string
		if c.PendingKey != nil {
			badges = append(badges, "⚠")
		} else if c.Verified {
			badges = append(badges, "✔")
		}
		if c.Unread > 0 {
			badges = append(badges, fmt.Sprintf("(%d)", c.Unread))
		}
		badge := strings.Join(badges, " ")
		lead := "  "
		if c.Name == m.selected {
			lead = "▸ "
		}
		name := truncate(sanitize(c.Name), max(w-2-lipgloss.Width(badge)-1, 1))
		line := lead + name + strings.Repeat(" ", max(w-2-lipgloss.Width(name)-lipgloss.Width(badge), 1)) + badge
		if c.Name == m.selected {
			line = styleCurrent.Render(line)
		} else if c.PendingKey != nil {
			line = styleWarn.Render(line)
		}
		out = append(out, line)
	}
	return out
}

// statusBar is the last line: the connection, the open conversation's
// session version and verification (or its warning), and the account.
func (m *Model) statusBar() string {
	var conn string
	switch m.conn {
	case connOnline:
		conn = styleOK.Render("● connected")
	case connConnecting:
		conn = stylePending.Render("○ connecting to " + m.cfg.Relay)
	case connOffline:
		why := "retrying"
		if m.connErr != nil {
			why = "retrying (" + lastCause(m.connErr) + ")"
		}
		conn = styleError.Render("○ disconnected, " + why)
	}
	parts := []string{conn}
	if m.selected != "" {
		parts = append(parts, m.conversationStatus())
	}
	parts = append(parts, "you: "+m.myName)
	line := " " + strings.Join(parts, styleFaint.Render(" │ "))
	if lipgloss.Width(line) > m.width {
		line = lipgloss.NewStyle().MaxWidth(m.width).Render(line)
	}
	return line
}

func (m *Model) conversationStatus() string {
	c, _ := m.contact(m.selected)
	name := sanitize(m.selected)
	if c.PendingKey != nil {
		return styleWarn.Render("⚠ " + name + "'s safety number changed: sending blocked, /approve or /verify")
	}
	version := "no session yet"
	if m.peer.version != 0 {
		version = fmt.Sprintf("session v%d", m.peer.version)
	}
	verified := stylePending.Render("unverified")
	if c.Verified {
		verified = styleOK.Render("✔ verified")
	}
	return name + " · " + version + " · " + verified
}

// lastCause is the innermost part of an error chain's message ("messenger:
// connect ws://...: dial tcp ...: connection refused" → "connection
// refused").
func lastCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return truncate(sanitize(s), 40)
}

// box draws lines in a rounded border of w×h cells with title in its top
// edge; lines are cut or padded to fit.
func box(title string, lines []string, w, h int) string {
	inner := max(w-2, 0)
	title = truncate(title, max(inner-4, 1))
	top := styleBorder.Render("╭─ ") + styleTitle.Render(title) + styleBorder.Render(" "+strings.Repeat("─", max(inner-3-lipgloss.Width(title), 0))+"╮")
	out := []string{top}
	side := styleBorder.Render("│")
	for i := 0; i < h-2; i++ {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		if lipgloss.Width(l) > inner {
			l = lipgloss.NewStyle().MaxWidth(inner).Render(l)
		}
		out = append(out, side+l+strings.Repeat(" ", max(inner-lipgloss.Width(l), 0))+side)
	}
	out = append(out, styleBorder.Render("╰"+strings.Repeat("─", inner)+"╯"))
	return strings.Join(out, "\n")
}

// wrap breaks plain text into lines of at most w cells, at spaces where
// it can (runs of spaces then collapse); it always returns at least one
// line.
func wrap(s string, w int) []string {
	w = max(w, 1)
	if lipgloss.Width(s) <= w {
		return []string{s} // as it is, spaces and all
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		for lipgloss.Width(word) > w {
			if cur != "" {
				lines, cur = append(lines, cur), ""
			}
			head, rest := cut(word, w)
			lines, word = append(lines, head), rest
		}
		switch {
		case cur == "":
			cur = word
		case lipgloss.Width(cur)+1+lipgloss.Width(word) <= w:
			cur += " " + word
		default:
			lines, cur = append(lines, cur), word
		}
	}
	return append(lines, cur)
}

// cut splits s after at most w cells (at least one rune).
func cut(s string, w int) (head, rest string) {
	n := 0
	for i, r := range s {
		rw := lipgloss.Width(string(r))
		if n+rw > w && i > 0 {
			return s[:i], s[i:]
		}
		n += rw
	}
	return s, ""
}

// truncate cuts plain text to w cells, ending in "…" when cut.
func truncate(s string, w int) string {
	switch {
	case lipgloss.Width(s) <= w:
		return s
	case w < 2:
		return "…"
	}
	head, _ := cut(s, w-1)
	return head + "…"
}

func padRight(s string, w int) string {
	return s + strings.Repeat(" ", max(w-lipgloss.Width(s), 0))
}

// sanitize replaces the characters that could drive the terminal or
// reorder what it shows (C0 and C1 controls, DEL, bidirectional
// overrides and isolates) with U+FFFD; a tab becomes a space.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return '\uFFFD'
		}
		return r
	}, s)
}
