// Package tui is the terminal UI of `blindpost chat`: a bubbletea model
// over a messenger.Messenger and its profile, with a contact list, the
// open conversation, an input line and a status bar.
//
// This file holds the model and its event handling; commands.go the
// slash commands and the I/O they start; view.go the drawing. The output
// rules of the UI are:
//
//   - While the UI runs it owns the terminal (the alternate screen).
//     Nothing is written to standard output or standard error, which would
//     tear the screen: the state goes into the status bar, and what
//     happened goes into the conversation as a note.
//   - Notes are lowercase, with no period at the end. When something needs
//     the user, the note says what to type next.
//   - Security warnings (a changed safety number, a message refused
//     because of one) are red, start with "⚠", name the contact, and stay
//     in the status bar until the user resolves them. The status bar says
//     "verified" only after the user confirmed the safety number here.
//   - Nothing that touches trust happens without a keystroke: no automatic
//     approval, verification or resend. A message refused because of an
//     identity change is not queued; the user sends it again if they want.
//   - Text from the network (messages, error reasons) is shown with its
//     control and bidirectional-override characters replaced, so that a
//     sender cannot drive the terminal.
//   - Update never does I/O: the relay and the profile are reached from
//     tea.Cmds, whose results come back as messages. Messenger events
//     arrive as EventMsg, sent into the program by the caller.
package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
)

// Config is what the UI runs on.
type Config struct {
	Messenger *messenger.Messenger
	Profile   *profile.Profile
	// Relay is the relay's URL, shown while connecting.
	Relay string
	// Context bounds the I/O that the UI's commands start.
	Context context.Context
	// Now is the clock for contacts added here; nil means time.Now.
	Now func() time.Time
}

// EventMsg carries a messenger event into the program: the caller's
// messenger.Config.OnEvent sends each one with tea.Program.Send.
type EventMsg messenger.Event

// connState is the relay connection as the status bar shows it.
//
//	connecting ──EventConnected──▶ online ──EventDisconnected──▶ offline
//	                                  ▲                             │
//	                                  └────────EventConnected───────┘
type connState int

const (
	connConnecting connState = iota // before the first connection
	connOnline                      // connected and authenticated
	connOffline                     // lost; messenger.Run retries with backoff
)

func (s connState) String() string {
	switch s {
	case connConnecting:
		return "connecting"
	case connOnline:
		return "online"
	case connOffline:
		return "offline"
	}
	return "unknown"
}

// Model is the chat UI. Use it through a *Model (tea.Model).
type Model struct {
	cfg    Config
	myName string
	myKey  identity.PublicKey

	width, height int

	conn    connState
	connErr error

	contacts []profile.Contact
	selected string            // the open conversation ("" when none)
	history  []profile.Message // of selected
	peer     peerInfo          // selected's device
	notes    map[string][]note // by conversation; "" when none is open
	maxSeq   uint64            // highest message seq seen, to place notes

	loadGen    uint64 // of the last load started
	appliedGen uint64 // of the last load applied

	prompt *verifyPrompt // a /verify awaiting y/n
	// warned is the new key each contact was last warned about, so that
	// the relay's notice and the held message it explains warn once.
	warned map[string]identity.PublicKey

	input textinput.Model
	view  viewport.Model
}

var _ tea.Model = (*Model)(nil)

// noteLevel says how a note is drawn.
type noteLevel int

const (
	noteInfo noteLevel = iota
	noteOK
	noteError
	noteWarn // security warning: red, bold, "⚠"
)

// note is a line (or block) the UI adds to a conversation. It stays after
// the messages that existed when it was added.
type note struct {
	after uint64 // drawn after the messages with Seq <= after
	level noteLevel
	lines []string
}

// New returns the UI for cfg.
func New(cfg Config) (*Model, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	acct, err := cfg.Profile.Account()
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, myName: acct.Name, myKey: acct.Identity.Public, notes: map[string][]note{},
		warned: map[string]identity.PublicKey{}}
	m.input = textinput.New()
	m.input.Cursor.SetMode(cursor.CursorStatic)
	m.input.CharLimit = messenger.MaxTextSize / 4 // runes: at most 4 bytes each
	m.input.Focus()
	m.view = viewport.New(0, 0)
	m.addNote("", noteInfo, "you are "+m.myName+" · type /add NAME to start a conversation, /help for commands")
	m.setPrompt()
	return m, nil
}

// Init loads the contacts.
func (m *Model) Init() tea.Cmd { return m.load() }

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case EventMsg:
		return m, m.event(messenger.Event(msg))
	case loadedMsg:
		return m, m.loaded(msg)
	case sentMsg:
		return m, m.sent(msg)
	case addedMsg:
		return m, m.added(msg)
	case safetyMsg:
		return m, m.safety(msg)
	case verifiedMsg:
		return m, m.verified(msg)
	case approvedMsg:
		return m, m.approved(msg)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg) // its own messages (a paste)
	return m, cmd
}

// key handles a keystroke. Keys the UI does not use go to the input line.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyRunes && !k.Alt {
		// Typed text, maybe several runes in one message (fast typing, a
		// paste the terminal did not bracket), is never a key binding, even
		// when it spells one: "end" or "up" in a sentence stay text.
		k.Paste = true
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(k)
		return cmd
	}
	switch k.String() {
	case "ctrl+c":
		return tea.Quit
	case "enter":
		return m.submit()
	case "tab", "ctrl+n":
		return m.cycle(1)
	case "shift+tab", "ctrl+p":
		return m.cycle(-1)
	case "pgup":
		m.view.PageUp()
		return nil
	case "pgdown":
		m.view.PageDown()
		return nil
	case "up":
		m.view.ScrollUp(1)
		return nil
	case "down":
		m.view.ScrollDown(1)
		return nil
	case "esc":
		if m.prompt != nil {
			m.cancelPrompt()
		}
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return cmd
}

// event handles a messenger event.
func (m *Model) event(e messenger.Event) tea.Cmd {
	switch e.Kind {
	case messenger.EventConnected:
		m.conn, m.connErr = connOnline, nil
		return m.load() // the outbox may have been flushed
	case messenger.EventDisconnected:
		m.conn, m.connErr = connOffline, e.Err
		return nil
	case messenger.EventMessage:
		if e.Message != nil {
			m.maxSeq = max(m.maxSeq, e.Message.Seq)
		}
		if m.selected == "" {
			m.open(e.Contact)
		}
	case messenger.EventIdentityChanged:
		if k, ok := m.warned[e.Contact]; !ok || k != e.Key {
			m.warned[e.Contact] = e.Key
			m.warnChanged(e.Contact, "")
		}
	case messenger.EventDropped:
		m.addNote(e.Contact, noteError, "a message from "+e.Contact+" could not be decrypted and was dropped: "+describe(e.Err, e.Contact))
	}
	return m.load()
}

// warnChanged adds the identity-change warning to name's conversation,
// after prefix (such as "not sent: ").
func (m *Model) warnChanged(name, prefix string) {
	m.addNote(name, noteWarn, prefix+changedWarning(name))
}

func changedWarning(name string) string {
	return name + "'s safety number changed: " + name + " may have reinstalled, or someone may be intercepting. " +
		"sending to " + name + " is blocked: type /approve to trust the new key, or /verify to compare first"
}

// cycle opens the next (dir 1) or previous (dir -1) contact.
func (m *Model) cycle(dir int) tea.Cmd {
	if len(m.contacts) == 0 {
		return nil
	}
	i := m.contactIndex(m.selected)
	if i < 0 {
		i = 0
	} else {
		i = (i + dir + len(m.contacts)) % len(m.contacts)
	}
	m.open(m.contacts[i].Name)
	return m.load()
}

// open makes name the open conversation; the caller loads it.
func (m *Model) open(name string) {
	if name == m.selected {
		return
	}
	if m.prompt != nil {
		m.cancelPrompt()
	}
	m.selected, m.history, m.peer = name, nil, peerInfo{}
	m.setPrompt()
	m.refresh(true)
}

func (m *Model) contactIndex(name string) int {
	for i, c := range m.contacts {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// contact returns the loaded contact name.
func (m *Model) contact(name string) (profile.Contact, bool) {
	if i := m.contactIndex(name); i >= 0 {
		return m.contacts[i], true
	}
	return profile.Contact{Name: name}, false
}

// addNote adds a note to a conversation ("" for the one shown when none is
// open) and redraws.
func (m *Model) addNote(conversation string, level noteLevel, lines ...string) {
	m.notes[conversation] = append(m.notes[conversation], note{after: m.maxSeq, level: level, lines: lines})
	if conversation == m.selected {
		m.refresh(false)
	}
}

// loadedMsg is a fresh read of the profile.
type loadedMsg struct {
	gen      uint64
	selected string
	contacts []profile.Contact
	history  []profile.Message
	peer     peerInfo
	err      error
}

// load starts reading the contacts and the open conversation (marking it
// read) from the profile.
func (m *Model) load() tea.Cmd {
	m.loadGen++
	gen, sel, p := m.loadGen, m.selected, m.cfg.Profile
	return func() tea.Msg { return readProfile(p, gen, sel) }
}

func readProfile(p *profile.Profile, gen uint64, sel string) loadedMsg {
	l := loadedMsg{gen: gen, selected: sel}
	if sel != "" {
		c, ok, err := p.Contact(sel)
		if err == nil && ok && c.Unread > 0 {
			err = p.MarkRead(sel)
		}
		if err != nil {
			l.err = err
			return l
		}
		if l.history, l.err = p.History(sel); l.err != nil {
			return l
		}
		if l.peer, l.err = readPeer(p, sel); l.err != nil {
			return l
		}
	}
	l.contacts, l.err = p.Contacts()
	return l
}

// loaded applies a read unless a newer one was applied already.
func (m *Model) loaded(l loadedMsg) tea.Cmd {
	if l.gen < m.appliedGen {
		return nil
	}
	m.appliedGen = l.gen
	if l.err != nil {
		m.addNote(m.selected, noteError, "cannot read the profile: "+l.err.Error())
		return nil
	}
	m.contacts = l.contacts
	if l.selected == m.selected {
		m.history, m.peer = l.history, l.peer
		for _, msg := range l.history {
			m.maxSeq = max(m.maxSeq, msg.Seq)
		}
	}
	if m.selected == "" && len(m.contacts) > 0 {
		m.open(m.firstToOpen())
		return m.load()
	}
	m.setPrompt()
	m.refresh(false)
	return nil
}

// firstToOpen is the contact opened when none is: the first with unread
// messages, else the first.
func (m *Model) firstToOpen() string {
	for _, c := range m.contacts {
		if c.Unread > 0 {
			return c.Name
		}
	}
	return m.contacts[0].Name
}
