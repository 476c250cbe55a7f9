// Package messenger is blindpost's end-to-end client: a profile (keys,
// sessions, history) on this device, sessions with other users, and a
// connection to a relay that only ever sees ciphertext.
//
// Message handling is ordered for crash safety. Receiving: decrypt on a
// held-back session commit, then write the commit, the message and the
// envelope id in one transaction, then acknowledge to the relay. Sending:
// encrypt, write the commit, the message and the ciphertext (outbox) in one
// transaction, then hand the ciphertext to the relay, then clear it from
// the outbox. A crash at any point neither loses a message nor shows it
// twice: a re-delivered envelope is recognised, a re-sent ciphertext is a
// duplicate to the recipient's session.
package messenger

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// Implementation constants.
const (
	// DeviceID is the one device a profile is. Multi-device accounts are
	// not supported by the client (the relay and protocol allow them).
	DeviceID = 1
	// PreKeyBatch is how many one-time prekeys are generated at once (the
	// relay's per-upload cap).
	PreKeyBatch = 100
	// KyberPreKeyBatch is the same for one-time Kyber prekeys (the relay's
	// cap, as Signal's clients upload them). A batch takes about 640 KiB of
	// the profile (4.7 KiB of key material per prekey, stored base64) and
	// about 160 KiB of one upload frame.
	KyberPreKeyBatch = 100
	// preKeyLow triggers a new batch, of either kind, when the relay holds
	// fewer.
	preKeyLow = 20
	// SignedPreKeyRotation is how often the signed prekey, and with it the
	// last-resort Kyber prekey, is replaced; old ones are kept for
	// signedPreKeyGrace so that sessions started from a bundle fetched just
	// before a rotation still complete. One-time Kyber prekeys replaced on
	// the relay by a newer batch are kept as long.
	SignedPreKeyRotation = 7 * 24 * time.Hour
	signedPreKeyGrace    = 30 * 24 * time.Hour
)

// Errors callers branch on.
var (
	// ErrIdentityChanged: the contact's identity key changed and the user
	// has not approved the new one; nothing is sent to the contact.
	ErrIdentityChanged = errors.New("messenger: contact's identity key changed; approve it before sending")
	// ErrNotConnected: the operation needs a relay connection.
	ErrNotConnected = errors.New("messenger: not connected to the relay")
)

// Config is what a Messenger needs. Profile must hold an account (Setup).
type Config struct {
	Profile *profile.Profile
	Relay   string // ws://host:port
	Rand    io.Reader
	Now     func() time.Time
	Logger  *slog.Logger
	// OnEvent is called for each event, from the goroutine that caused it;
	// nil ignores them.
	OnEvent func(Event)
}

// EventKind says what happened.
type EventKind int

const (
	EventConnected       EventKind = iota + 1 // connected and authenticated
	EventDisconnected                         // the connection ended (Err says why)
	EventMessage                              // a message was received and saved
	EventSent                                 // the relay stored an outgoing message
	EventDelivered                            // the recipient's client confirmed a message
	EventIdentityChanged                      // a contact's identity key changed
	EventDropped                              // an undecryptable message was dropped (Err says why)
)

// Event is one thing the UI may show.
type Event struct {
	Kind    EventKind
	Contact string
	Message *profile.Message
	Key     identity.PublicKey // EventIdentityChanged: the new key
	Err     error
}

// Messenger is one user's client. Its methods are safe for concurrent use.
type Messenger struct {
	cfg  Config
	acct profile.Account
	log  *slog.Logger

	opMu    sync.Mutex // serializes session operations
	flushMu sync.Mutex // one outbox flush at a time

	connMu sync.Mutex
	conn   *client.Client
}

// Setup returns the profile's account, creating it (with name) on first
// use. created reports whether it was created now.
func Setup(p *profile.Profile, name string, rand io.Reader, now time.Time) (acct profile.Account, created bool, err error) {
	acct, err = p.Account()
	switch {
	case err == nil:
		if name != "" && name != acct.Name {
			return acct, false, fmt.Errorf("messenger: this profile belongs to %q, not %q", acct.Name, name)
		}
		return acct, false, nil
	case !errors.Is(err, profile.ErrNoAccount):
		return acct, false, err
	case name == "":
		return acct, false, fmt.Errorf("messenger: a new profile needs --name")
	}
	if err := ValidName(name); err != nil {
		return acct, false, err
	}
	acct, err = p.Create(name, DeviceID, rand, now)
	return acct, err == nil, err
}

// New returns a Messenger for an existing account.
func New(cfg Config) (*Messenger, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	acct, err := cfg.Profile.Account()
	if err != nil {
		return nil, err
	}
	return &Messenger{cfg: cfg, acct: acct, log: log}, nil
}

// Name is the account's name.
func (m *Messenger) Name() string { return m.acct.Name }

func (m *Messenger) emit(e Event) {
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(e)
	}
}

// SPQRMinimum is blindpost's clients' SPQR policy: in a version-4 session
// SPQR is required from the first message, as libsignal >= 0.92 does.
const SPQRMinimum = spqr.V1

// cipher runs sessions on store. A bundle with a Kyber prekey, which every
// blindpost client publishes, gives a version-4 session (PQXDH) with SPQR
// as SPQRMinimum says; a bundle without one (a classic peer) gives a
// version-3 session.
func (m *Messenger) cipher(store session.Store) *session.Cipher {
	return &session.Cipher{
		Store:       store,
		Local:       session.Address{Name: m.acct.Name, DeviceID: DeviceID},
		Rand:        m.cfg.Rand,
		Now:         m.cfg.Now,
		SPQRMinimum: SPQRMinimum,
	}
}

func addr(name string) session.Address { return session.Address{Name: name, DeviceID: DeviceID} }

// newID returns a random message id.
func (m *Messenger) newID() (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(m.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("messenger: message id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// SafetyNumber returns the safety number of the conversation with name:
// the 60 digits both sides see, and the scannable form.
func (m *Messenger) SafetyNumber(name string) (fingerprint.Fingerprint, error) {
	theirs, ok, err := m.cfg.Profile.TrustedIdentity(addr(name))
	if err != nil {
		return fingerprint.Fingerprint{}, err
	}
	if !ok {
		return fingerprint.Fingerprint{}, fmt.Errorf("messenger: no identity key known for %s yet", name)
	}
	return m.SafetyNumberFor(name, theirs)
}

// SafetyNumberFor returns the safety number the conversation with name
// would have if name's identity key were theirs: what the user compares
// before approving a changed key.
func (m *Messenger) SafetyNumberFor(name string, theirs identity.PublicKey) (fingerprint.Fingerprint, error) {
	return fingerprint.NewStandard([]byte(m.acct.Name), m.acct.Identity.Public, []byte(name), theirs)
}

// MarkVerified records that the user compared the safety number with name.
func (m *Messenger) MarkVerified(name string) error {
	if _, err := m.SafetyNumber(name); err != nil {
		return err
	}
	return m.cfg.Profile.UpdateContact(name, func(c *profile.Contact) { c.Verified = true })
}

// X3DHBundle converts one device's part of a relay bundle (whose
// signatures the relay client has checked) for the key agreement: PQXDH
// when the device published a Kyber prekey (one-time or last resort), X3DH
// otherwise. It parses the Kyber key strictly and verifies no signature:
// x3dh does, before any key is used.
func X3DHBundle(b client.Bundle, device uint32) (*x3dh.Bundle, error) {
	for _, d := range b.Devices {
		if d.DeviceID != device {
			continue
		}
		xb := &x3dh.Bundle{
			RegistrationID:        d.RegistrationID,
			DeviceID:              d.DeviceID,
			IdentityKey:           b.IdentityKey,
			SignedPreKeyID:        d.SignedPreKey.ID,
			SignedPreKey:          d.SignedPreKey.PublicKey,
			SignedPreKeySignature: d.SignedPreKey.Signature,
		}
		if d.PreKey != nil {
			xb.PreKey = &x3dh.OneTimePreKey{ID: d.PreKey.ID, Key: d.PreKey.PublicKey}
		}
		if k := d.KEMPreKey; k != nil {
			pub, err := kem.ParsePublicKey(k.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("messenger: %s's kyber prekey %d: %w", b.Name, k.ID, err)
			}
			xb.KyberPreKey = &x3dh.KyberPreKey{ID: k.ID, Key: pub, Signature: k.Signature}
		}
		return xb, nil
	}
	return nil, fmt.Errorf("messenger: %s has no device %d", b.Name, device)
}

// PublicKyberPreKey returns the part of a Kyber prekey that is uploaded:
// the serialized public key and its signature.
func PublicKyberPreKey(k kem.PreKey) client.KEMPreKey {
	return client.KEMPreKey{ID: k.ID, PublicKey: k.KeyPair.Public.Bytes(), Signature: k.Signature}
}

// isMessageFault reports whether a decryption error is the message's fault
// (forged, corrupt, replayed, or for a session we no longer have), as
// opposed to a local failure that should be retried.
func isMessageFault(err error) bool {
	for _, e := range []error{session.ErrInvalidMessage, session.ErrNoSession, session.ErrInvalidPreKeyID,
		session.ErrDuplicate, wire.ErrMalformed, wire.ErrVersion, errBadPayload} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
