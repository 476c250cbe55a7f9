package client

import (
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
)

// Secret is a device secret or an account recovery secret: 32 random
// bytes the relay stores only as a salted hash. It redacts itself when
// formatted.
type Secret [protocol.SecretSize]byte

// GenerateSecret reads a fresh secret from rand.
func GenerateSecret(rand io.Reader) (Secret, error) {
	var s Secret
	if _, err := io.ReadFull(rand, s[:]); err != nil {
		return s, fmt.Errorf("client: generate secret: %w", err)
	}
	return s, nil
}

// String redacts the secret.
func (Secret) String() string { return "client.Secret(REDACTED)" }

// GoString redacts the secret.
func (s Secret) GoString() string { return s.String() }

// Format redacts the secret for every verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Kind is the kind of an envelope.
type Kind int

const (
	// KindMessage is a client's message: Content is opaque ciphertext.
	KindMessage Kind = Kind(relaypb.EnvelopeKind_ENVELOPE_KIND_MESSAGE)
	// KindIdentityChange is the relay's notice that Sender rebound its
	// name to IdentityKey: a client should warn before trusting it.
	KindIdentityChange Kind = Kind(relaypb.EnvelopeKind_ENVELOPE_KIND_IDENTITY_CHANGE)
)

// Envelope is one pushed delivery.
type Envelope struct {
	ID              uint64 // acknowledge with this id
	Kind            Kind
	Sender          string
	SenderDevice    uint32
	Recipient       string
	RecipientDevice uint32
	Type            uint32 // as chosen by the sender (2, 3...)
	Content         []byte
	ServerTime      time.Time
	IdentityKey     identity.PublicKey // KindIdentityChange only
}

func parseEnvelope(e *relaypb.Envelope) (Envelope, error) {
	out := Envelope{
		ID:              e.Id,
		Kind:            Kind(e.Kind),
		Sender:          e.Sender,
		SenderDevice:    e.SenderDevice,
		Recipient:       e.Recipient,
		RecipientDevice: e.RecipientDevice,
		Type:            e.Type,
		Content:         e.Content,
		ServerTime:      time.UnixMilli(e.ServerTimeMs),
	}
	switch out.Kind {
	case KindMessage:
	case KindIdentityChange:
		k, err := identity.ParsePublicKey(e.IdentityKey)
		if err != nil {
			return Envelope{}, fmt.Errorf("client: identity-change notice: %w", err)
		}
		out.IdentityKey = k
	default:
		return Envelope{}, fmt.Errorf("client: envelope of unknown kind %d", e.Kind)
	}
	return out, nil
}

// SignedPreKey is the public half of a signed prekey.
type SignedPreKey struct {
	ID        uint32
	PublicKey identity.PublicKey
	Signature [identity.SignatureSize]byte
}

// PreKey is the public half of a one-time prekey.
type PreKey struct {
	ID        uint32
	PublicKey identity.PublicKey
}

// KEMPreKey is the public half of a Kyber prekey: the serialized key
// (0x08 || 1568 bytes) and its signature by the identity key.
type KEMPreKey struct {
	ID        uint32
	PublicKey []byte
	Signature [identity.SignatureSize]byte
}

// PublicSignedPreKey returns the part of a signed prekey that is uploaded.
func PublicSignedPreKey(k identity.SignedPreKey) SignedPreKey {
	return SignedPreKey{ID: k.ID, PublicKey: k.KeyPair.Public, Signature: k.Signature}
}

// PublicPreKeys returns the parts of one-time prekeys that are uploaded.
func PublicPreKeys(keys []identity.PreKey) []PreKey {
	out := make([]PreKey, len(keys))
	for i, k := range keys {
		out[i] = PreKey{ID: k.ID, PublicKey: k.KeyPair.Public}
	}
	return out
}

// PreKeyUpload is what UploadPreKeys sends. Each non-empty field replaces
// what the relay held for it: an upload of one-time keys replaces the
// device's unused one-time keys.
type PreKeyUpload struct {
	SignedPreKey  *SignedPreKey
	PreKeys       []PreKey    // at most 100
	KEMPreKeys    []KEMPreKey // at most 100
	KEMLastResort *KEMPreKey
}

// DeviceBundle is one device's part of a bundle. PreKey is nil when the
// device has no one-time prekey left; KEMPreKey is the last-resort key
// when KEMLastResort is set.
type DeviceBundle struct {
	DeviceID       uint32
	RegistrationID uint32
	SignedPreKey   SignedPreKey
	PreKey         *PreKey
	KEMPreKey      *KEMPreKey
	KEMLastResort  bool
}

// Bundle is what FetchBundle returns, its signatures checked.
type Bundle struct {
	Name        string
	IdentityKey identity.PublicKey
	Devices     []DeviceBundle
}

// PreKeyCounts says what the authenticated device has left on the relay.
type PreKeyCounts struct {
	PreKeys, KEMPreKeys         int
	SignedPreKey, KEMLastResort bool
}

// Registration is what Register sends.
type Registration struct {
	Name           string
	DeviceID       uint32
	RegistrationID uint32
	IdentityKey    identity.IdentityKeyPair
	// DeviceSecret, if set, lets the device authenticate without a
	// signature (AuthenticateWithSecret).
	DeviceSecret *Secret
	// RecoverySecret, if set, lets the account change its identity key
	// later without the current one.
	RecoverySecret *Secret

	// IdentityChange rebinds an existing name to IdentityKey. It needs
	// OldIdentityKey (the current key) or CurrentRecoverySecret.
	IdentityChange        bool
	OldIdentityKey        *identity.IdentityKeyPair
	CurrentRecoverySecret *Secret
}

// Registered is the outcome of a registration.
type Registered struct {
	Created         bool // the name was free
	IdentityChanged bool // the name was rebound to a new identity key
}

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
