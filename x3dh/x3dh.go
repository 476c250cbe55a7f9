package x3dh

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/identity"
)

// ErrBadSignature: a bundle's signed prekey signature does not verify.
var ErrBadSignature = errors.New("x3dh: bad signed prekey signature")

// ErrBadBaseKey: the initiator's base key is not canonical or has a torsion
// component, as libsignal checks before any computation.
var ErrBadBaseKey = errors.New("x3dh: invalid base key")

// Bundle is what the responder publishes (X3DH §3.2): the identity key, a
// signed prekey with its signature, and optionally a one-time prekey.
type Bundle struct {
	RegistrationID uint32
	DeviceID       uint32
	IdentityKey    identity.PublicKey

	SignedPreKeyID        uint32
	SignedPreKey          identity.PublicKey
	SignedPreKeySignature [identity.SignatureSize]byte

	// PreKey is set when the bundle carries a one-time prekey.
	PreKey *OneTimePreKey
}

// OneTimePreKey is a bundle's optional one-time prekey.
type OneTimePreKey struct {
	ID  uint32
	Key identity.PublicKey
}

// Verify checks the signed prekey's signature by the identity key
// ("Alice verifies the prekey signature and aborts the protocol if
// verification fails", X3DH §3.3).
func (b *Bundle) Verify() error {
	if !identity.Verify(b.IdentityKey, b.SignedPreKey.Bytes(), b.SignedPreKeySignature[:]) {
		return ErrBadSignature
	}
	return nil
}

// Secrets are the agreement's outputs: the first root key and chain key of
// the Double Ratchet. They redact themselves when formatted.
type Secrets struct {
	RootKey  [secretSize]byte
	ChainKey [secretSize]byte
}

// Initiate is the initiator's side (X3DH §3.3, Alice): it verifies the
// bundle, then computes
//
//	DH1 = DH(IK_A, SPK_B)  DH2 = DH(EK_A, IK_B)  DH3 = DH(EK_A, SPK_B)
//	DH4 = DH(EK_A, OPK_B)  (when the bundle has a one-time prekey)
//	SK  = KDF(DH1 || DH2 || DH3 || DH4)
//
// ek is the initiator's ephemeral ("base") key pair, freshly generated.
func Initiate(ik identity.IdentityKeyPair, ek identity.KeyPair, b *Bundle) (Secrets, error) {
	if err := b.Verify(); err != nil {
		return Secrets{}, err
	}
	return initiate(ik, ek, b, nil)
}

// initiate is Initiate after the bundle's signature was checked.
func initiate(ik identity.IdentityKeyPair, ek identity.KeyPair, b *Bundle, tr *Trace) (Secrets, error) {
	pairs := []dhPair{
		{ik.KeyPair, b.SignedPreKey},
		{ek, b.IdentityKey},
		{ek, b.SignedPreKey},
	}
	if b.PreKey != nil {
		pairs = append(pairs, dhPair{ek, b.PreKey.Key})
	}
	return agree(pairs, tr)
}

// ResponderKeys are the responder's private keys named by a PreKeySignalMessage.
type ResponderKeys struct {
	Identity     identity.IdentityKeyPair
	SignedPreKey identity.KeyPair
	// PreKey is the one-time prekey the initiator used, if any.
	PreKey *identity.KeyPair
}

// Respond is the responder's side (X3DH §3.4, Bob): the same four DH
// values from his private keys and the initiator's identity and base keys.
// The base key must be canonical and torsion-free.
func Respond(k ResponderKeys, theirIdentity, theirBase identity.PublicKey) (Secrets, error) {
	return respond(k, theirIdentity, theirBase, nil)
}

func respond(k ResponderKeys, theirIdentity, theirBase identity.PublicKey, tr *Trace) (Secrets, error) {
	if err := theirBase.CheckCanonical(); err != nil {
		return Secrets{}, fmt.Errorf("%w: %w", ErrBadBaseKey, err)
	}
	pairs := []dhPair{
		{k.SignedPreKey, theirIdentity},
		{k.Identity.KeyPair, theirBase},
		{k.SignedPreKey, theirBase},
	}
	if k.PreKey != nil {
		pairs = append(pairs, dhPair{*k.PreKey, theirBase})
	}
	return agree(pairs, tr)
}

// dhPair is one DH input: our private key and their public key.
type dhPair struct {
	priv identity.KeyPair
	pub  identity.PublicKey
}

// agree computes F || DH1 || ... || DHn and applies KDF. With a trace, it
// records copies of the DH outputs and the result.
func agree(pairs []dhPair, tr *Trace) (Secrets, error) {
	km := make([]byte, 0, len(discontinuity)+len(pairs)*identity.SharedSecretSize)
	km = append(km, discontinuity[:]...)
	for i, p := range pairs {
		dh, err := p.priv.DH(p.pub)
		if err != nil {
			clear(km)
			return Secrets{}, fmt.Errorf("x3dh: DH%d: %w", i+1, err)
		}
		km = append(km, dh[:]...)
		if tr != nil {
			tr.DH = append(tr.DH, dh)
		}
		clear(dh[:])
	}
	s := KDF(km)
	if tr != nil {
		tr.Secrets = s
	}
	return s, nil
}

// KDF is the specification's KDF(KM) (X3DH §2.2) with libsignal's
// parameters, where km already starts with F:
//
//	HKDF-SHA256(salt = zeros, ikm = F || KM, info = "WhisperText") -> 64 bytes
//	= root key || chain key
//
// It clears km.
func KDF(km []byte) Secrets {
	okm, err := hkdf.Key(sha256.New, km, nil, infoX3DH, 2*secretSize)
	clear(km)
	if err != nil {
		panic("x3dh: internal error: " + err.Error())
	}
	var s Secrets
	copy(s.RootKey[:], okm[:secretSize])
	copy(s.ChainKey[:], okm[secretSize:])
	clear(okm)
	return s
}

// String redacts the secrets.
func (Secrets) String() string { return "x3dh.Secrets(REDACTED)" }

// GoString redacts the secrets.
func (s Secrets) GoString() string { return s.String() }

// Format redacts the secrets for every verb.
func (s Secrets) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }
