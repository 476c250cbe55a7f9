package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/session"
)

// helpLines is what /help shows.
var helpLines = []string{
	"commands:",
	"  /add NAME   add a contact and open the conversation",
	"  /verify     show this conversation's safety number; after comparing it with",
	"              the contact's screen, answer y to mark the contact verified",
	"  /approve    trust a contact's new identity key after a safety number change",
	"  /whois      identity keys, verification and session version",
	"  /help       this help",
	"  /quit       leave (ctrl+c too)",
	"keys: tab / shift+tab next / previous contact · pgup / pgdn scroll · //text sends /text",
	"marks: … queued  ✓ stored by the relay  ✓✓ delivered to the contact's device",
}

// submit handles the input line on enter.
func (m *Model) submit() tea.Cmd {
	line := strings.TrimSpace(m.input.Value())
	m.input.Reset()
	if m.prompt != nil && !isOtherCommand(line) {
		return m.answer(line)
	}
	switch {
	case line == "":
		return nil
	case strings.HasPrefix(line, "//"):
		return m.send(line[1:])
	case strings.HasPrefix(line, "/"):
		return m.command(line)
	}
	return m.send(line)
}

// isOtherCommand reports whether line is a command other than /verify,
// which leaves a pending y/n question.
func isOtherCommand(line string) bool {
	name, _, _ := strings.Cut(line, " ")
	return strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") && name != "/verify"
}

// command runs a slash command.
func (m *Model) command(line string) tea.Cmd {
	if m.prompt != nil {
		m.cancelPrompt()
	}
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/add":
		return m.add(arg)
	case "/verify":
		return m.verify(arg)
	case "/approve":
		return m.approve()
	case "/whois":
		m.whois()
		return nil
	case "/help":
		m.addNote(m.selected, noteInfo, helpLines...)
		return nil
	case "/quit", "/exit":
		return tea.Quit
	}
	m.addNote(m.selected, noteError, "unknown command "+sanitize(name)+": type /help")
	return nil
}

// sentMsg is the outcome of sending a message.
type sentMsg struct {
	to     string
	seq    uint64 // of the saved message (0: not saved)
	queued bool   // saved in the outbox, not yet on the relay
	err    error
}

// send sends text to the open conversation, unless the contact's identity
// key changed: then the text is refused, and never sent later.
func (m *Model) send(text string) tea.Cmd {
	to := m.selected
	if to == "" {
		m.addNote("", noteError, "no conversation is open: type /add NAME first")
		return nil
	}
	if c, _ := m.contact(to); c.PendingKey != nil {
		m.warnChanged(to, "not sent: ")
		return nil
	}
	ms, ctx := m.cfg.Messenger, m.cfg.Context
	return func() tea.Msg {
		msg, err := ms.Send(ctx, to, text)
		return sentMsg{to: to, seq: msg.Seq, queued: err != nil && msg.ID != "", err: err}
	}
}

func (m *Model) sent(s sentMsg) tea.Cmd {
	m.maxSeq = max(m.maxSeq, s.seq) // a note about it goes after it
	switch {
	case s.err == nil:
	case errors.Is(s.err, messenger.ErrIdentityChanged):
		m.warnChanged(s.to, "not sent: ")
	case s.queued:
		m.addNote(s.to, noteInfo, "queued (…): it goes to the relay as soon as the connection is back")
	default:
		m.addNote(s.to, noteError, "not sent: "+describe(s.err, s.to))
	}
	return m.load()
}

// addedMsg is the outcome of /add.
type addedMsg struct {
	name string
	err  error // from starting the session; the contact is added anyway
}

// add adds a contact, opens it and fetches its keys so that the safety
// number can be compared before the first message.
func (m *Model) add(name string) tea.Cmd {
	switch {
	case name == "":
		m.addNote(m.selected, noteError, "usage: /add NAME")
		return nil
	case name == m.myName:
		m.addNote(m.selected, noteError, "that is you: add someone else")
		return nil
	}
	if err := messenger.ValidName(name); err != nil {
		m.addNote(m.selected, noteError, fmt.Sprintf("%q is not a valid name: names are lowercase letters, digits, '.', '_' and '-'", sanitize(name)))
		return nil
	}
	if _, ok := m.contact(name); ok {
		m.open(name)
		m.addNote(name, noteInfo, name+" is already a contact")
		return m.load()
	}
	m.open(name)
	ms, p, ctx, now := m.cfg.Messenger, m.cfg.Profile, m.cfg.Context, m.cfg.Now()
	return func() tea.Msg {
		if err := p.AddContact(name, now); err != nil {
			return addedMsg{name: name, err: err}
		}
		return addedMsg{name: name, err: ms.StartSession(ctx, name)}
	}
}

func (m *Model) added(a addedMsg) tea.Cmd {
	switch {
	case a.err == nil:
		m.addNote(a.name, noteOK, "added "+a.name+": say hello, or type /verify to compare safety numbers first")
	case errors.Is(a.err, messenger.ErrIdentityChanged):
		m.warnChanged(a.name, "")
	case errors.Is(a.err, messenger.ErrNotConnected):
		m.addNote(a.name, noteInfo, "added "+a.name+": not connected, so "+a.name+"'s keys will be fetched when you send")
	default:
		m.addNote(a.name, noteError, "added "+a.name+", but: "+describe(a.err, a.name))
	}
	return m.load()
}

// verifyPrompt is a safety number shown and awaiting the user's y/n.
type verifyPrompt struct {
	name    string
	key     identity.PublicKey // the key the number was computed from
	pending bool               // key is a new, unapproved key
}

// safetyMsg is a safety number to show.
type safetyMsg struct {
	name    string
	key     identity.PublicKey
	pending bool
	number  string // 60 digits
	confirm bool   // `/verify yes`: mark verified right after showing
	err     error
}

// verify starts /verify: the safety number is computed (fetching the
// contact's keys first if none are known), shown, then confirmed.
func (m *Model) verify(arg string) tea.Cmd {
	name := m.selected
	if name == "" {
		m.addNote("", noteError, "no conversation is open: /verify compares the safety number of the open one")
		return nil
	}
	if arg != "" && arg != "yes" {
		m.addNote(name, noteError, "usage: /verify, then answer y or n (or /verify yes)")
		return nil
	}
	ms, p, ctx := m.cfg.Messenger, m.cfg.Profile, m.cfg.Context
	return func() tea.Msg {
		s := safetyMsg{name: name, confirm: arg == "yes"}
		c, _, err := p.Contact(name)
		if err != nil {
			s.err = err
			return s
		}
		if c.PendingKey != nil {
			// The messenger's SafetyNumber is of the trusted key; the user
			// compares the new one before approving it.
			s.key, s.pending = *c.PendingKey, true
			fp, err := ms.SafetyNumberFor(name, s.key)
			s.number, s.err = fp.Displayable(), err
			return s
		}
		s.key, s.err = trustedKey(ctx, ms, p, name)
		if s.err != nil {
			return s
		}
		fp, err := ms.SafetyNumber(name)
		s.number, s.err = fp.Displayable(), err
		return s
	}
}

// trustedKey returns name's trusted identity key, starting a session
// first if there is none.
func trustedKey(ctx context.Context, ms *messenger.Messenger, p *profile.Profile, name string) (identity.PublicKey, error) {
	addr := session.Address{Name: name, DeviceID: messenger.DeviceID}
	if _, ok, err := p.TrustedIdentity(addr); err != nil || !ok {
		if err == nil {
			err = ms.StartSession(ctx, name)
		}
		if err != nil {
			return identity.PublicKey{}, err
		}
	}
	k, ok, err := p.TrustedIdentity(addr)
	if err == nil && !ok {
		err = fmt.Errorf("no identity key known for %s yet", name)
	}
	return k, err
}

func (m *Model) safety(s safetyMsg) tea.Cmd {
	if s.err != nil {
		if errors.Is(s.err, messenger.ErrIdentityChanged) {
			m.warnChanged(s.name, "")
			return m.load()
		}
		m.addNote(s.name, noteError, "no safety number yet: "+describe(s.err, s.name))
		return nil
	}
	title := "safety number of your conversation with " + s.name + ":"
	if s.pending {
		title = "safety number with " + s.name + "'s NEW key (not approved yet):"
	}
	lines := append([]string{title}, numberRows(s.number)...)
	lines = append(lines, "compare it with the number on "+s.name+"'s screen, in person or on a call you trust")
	m.addNote(s.name, noteInfo, lines...)
	p := &verifyPrompt{name: s.name, key: s.key, pending: s.pending}
	if s.name != m.selected {
		return nil // the user moved on; /verify again there
	}
	if s.confirm {
		return m.confirm(p)
	}
	m.prompt = p
	m.setPrompt()
	return nil
}

// numberRows lays the 12 groups of 5 digits out in 3 rows of 4, as the
// Signal apps do.
func numberRows(number string) []string {
	groups := strings.Fields(fingerprint.Groups(number))
	var rows []string
	for i := 0; i < len(groups); i += 4 {
		rows = append(rows, "    "+strings.Join(groups[i:min(i+4, len(groups))], "  "))
	}
	return rows
}

// answer handles the reply to the y/n question of /verify.
func (m *Model) answer(line string) tea.Cmd {
	switch strings.ToLower(line) {
	case "y", "yes", "/verify yes":
		p := m.prompt
		m.prompt = nil
		m.setPrompt()
		return m.confirm(p)
	case "n", "no", "/verify no":
		name := m.prompt.name
		m.cancelPrompt()
		m.addNote(name, noteWarn, "not verified: if the numbers differ, someone may be intercepting your conversation with "+name+
			"; talk to "+name+" another way before trusting it")
		return nil
	}
	m.addNote(m.prompt.name, noteInfo, "answer y or n (esc cancels)")
	return nil
}

func (m *Model) cancelPrompt() {
	m.prompt = nil
	m.setPrompt()
}

// verifiedMsg is the outcome of a confirmed /verify.
type verifiedMsg struct {
	name     string
	approved bool // a new key was approved with it
	err      error
}

// errKeyMoved: the key changed between showing its number and the
// user's confirmation.
var errKeyMoved = errors.New("tui: the identity key changed while you were comparing")

// confirm marks the contact verified, approving the new key first when
// the number shown was the new key's, provided the key is still the one
// whose number the user compared.
func (m *Model) confirm(v *verifyPrompt) tea.Cmd {
	ms, p, ctx := m.cfg.Messenger, m.cfg.Profile, m.cfg.Context
	return func() tea.Msg {
		r := verifiedMsg{name: v.name, approved: v.pending}
		c, _, err := p.Contact(v.name)
		if err != nil {
			r.err = err
			return r
		}
		if v.pending {
			if c.PendingKey == nil || *c.PendingKey != v.key {
				r.err = errKeyMoved
				return r
			}
			if r.err = ms.Approve(ctx, v.name); r.err != nil {
				return r
			}
		} else {
			k, ok, err := p.TrustedIdentity(session.Address{Name: v.name, DeviceID: messenger.DeviceID})
			if err != nil || !ok || k != v.key || c.PendingKey != nil {
				r.err = errors.Join(err, errKeyMoved)
				return r
			}
		}
		r.err = ms.MarkVerified(v.name)
		return r
	}
}

func (m *Model) verified(v verifiedMsg) tea.Cmd {
	switch {
	case errors.Is(v.err, errKeyMoved):
		m.addNote(v.name, noteWarn, v.name+"'s identity key changed while you were comparing: nothing was marked; type /verify again")
	case v.err != nil:
		m.addNote(v.name, noteError, "not marked verified: "+describe(v.err, v.name))
	case v.approved:
		delete(m.warned, v.name)
		m.addNote(v.name, noteOK, "✔ "+v.name+"'s new key is approved and verified. nothing was resent: send again what "+v.name+" should get")
	default:
		m.addNote(v.name, noteOK, "✔ "+v.name+" is verified")
	}
	return m.load()
}

// approvedMsg is the outcome of /approve.
type approvedMsg struct {
	name string
	err  error
}

// approve trusts the open contact's new identity key. Messages held back
// while it was unapproved are then shown; nothing is resent.
func (m *Model) approve() tea.Cmd {
	name := m.selected
	if c, _ := m.contact(name); name == "" || c.PendingKey == nil {
		m.addNote(name, noteInfo, "nothing to approve: no safety number change is pending here")
		return nil
	}
	ms, ctx := m.cfg.Messenger, m.cfg.Context
	return func() tea.Msg { return approvedMsg{name: name, err: ms.Approve(ctx, name)} }
}

func (m *Model) approved(a approvedMsg) tea.Cmd {
	if a.err != nil {
		m.addNote(a.name, noteError, "not approved: "+describe(a.err, a.name))
	} else {
		delete(m.warned, a.name)
		m.addNote(a.name, noteOK, "you now trust "+a.name+"'s new key; it is not verified: /verify to compare the new safety number. "+
			"nothing was resent: send again what "+a.name+" should get")
	}
	return m.load()
}

// whois shows identity keys, verification and the session version, from
// what is loaded.
func (m *Model) whois() {
	var lines []string
	if name := m.selected; name != "" {
		c, _ := m.contact(name)
		verified := "no: /verify to compare safety numbers"
		if c.Verified {
			verified = "yes, you compared the safety number"
		}
		version := "none yet"
		switch v := m.peer.version; {
		case v >= 4 && m.peer.spqr:
			version = fmt.Sprintf("version %d (PQXDH, with the SPQR post-quantum ratchet)", v)
		case v >= 4:
			version = fmt.Sprintf("version %d (PQXDH, without SPQR)", v)
		case v != 0:
			version = fmt.Sprintf("version %d (X3DH: the contact's client has no post-quantum keys)", v)
		}
		lines = append(lines, name, "  verified      "+verified, "  session       "+version)
		if m.peer.key != (identity.PublicKey{}) {
			lines = append(lines, keyLines("  identity key  ", m.peer.key)...)
		} else {
			lines = append(lines, "  identity key  not known yet (fetched with the first message or /verify)")
		}
		if c.PendingKey != nil {
			lines = append(lines, keyLines("  NEW key       ", *c.PendingKey)...)
			lines = append(lines, "                (not approved: /approve or /verify)")
		}
	}
	lines = append(lines, "you ("+m.myName+")")
	lines = append(lines, keyLines("  identity key  ", m.myKey)...)
	m.addNote(m.selected, noteInfo, lines...)
}

// keyLines writes a public key in hex after label: two lines of four
// groups of 8 digits.
func keyLines(label string, k identity.PublicKey) []string {
	h := k.String()
	var groups []string
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:min(i+8, len(h))])
	}
	half := (len(groups) + 1) / 2
	return []string{
		label + strings.Join(groups[:half], " "),
		strings.Repeat(" ", len(label)) + strings.Join(groups[half:], " "),
	}
}

// peerInfo is what the profile holds about a contact's device: the current
// session and the trusted identity key.
type peerInfo struct {
	version int                // session version (0: no session yet)
	spqr    bool               // that session runs SPQR
	key     identity.PublicKey // trusted identity key (zero: none yet)
}

// readPeer reads peerInfo for name's device.
func readPeer(p *profile.Profile, name string) (peerInfo, error) {
	addr := session.Address{Name: name, DeviceID: messenger.DeviceID}
	var info peerInfo
	rec, ok, err := p.Record(addr)
	if err != nil {
		return info, err
	}
	if ok && rec.Current != nil {
		info.version, info.spqr = rec.Current.Ratchet.Version, rec.Current.Ratchet.PQ.Enabled()
	}
	info.key, _, err = p.TrustedIdentity(addr)
	return info, err
}

// describe says what went wrong in the user's terms, for the failures a
// user can act on; others are shown as they are.
func describe(err error, name string) string {
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, messenger.ErrNotConnected):
		return "not connected to the relay"
	case errors.Is(err, client.ErrNotFound):
		return "there is no account named " + name + " on this relay (" + name + " must run blindpost once first)"
	case errors.Is(err, client.ErrRateLimited):
		return "the relay is limiting requests: try again in a minute"
	case errors.Is(err, client.ErrQueueFull):
		return name + "'s mailbox on the relay is full"
	case errors.Is(err, client.ErrUnavailable):
		return "the relay is unavailable"
	}
	return sanitize(err.Error())
}
