package x3dh

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// ErrBadSignature: a bundle's signed prekey signature, or its Kyber prekey
// signature (then the error is ErrBadKyberSignature, which matches both),
// does not verify.
var ErrBadSignature = errors.New("x3dh: bad signed prekey signature")

// ErrBadKyberSignature: a bundle's Kyber prekey signature does not verify.
// errors.Is(ErrBadKyberSignature, ErrBadSignature) holds.
var ErrBadKyberSignature error = badKyberSignature{}

type badKyberSignature struct{}

func (badKyberSignature) Error() string        { return "x3dh: bad kyber prekey signature" }
func (badKyberSignature) Is(target error) bool { return target == ErrBadSignature }

// ErrBadBaseKey: the initiator's base key is not canonical or has a torsion
// component, as libsignal checks before any computation.
var ErrBadBaseKey = errors.New("x3dh: invalid base key")

// ErrKyberMismatch: the responder was given a Kyber prekey without a
// ciphertext, or a ciphertext without a Kyber prekey.
var ErrKyberMismatch = errors.New("x3dh: kyber prekey and ciphertext must come together")

// Bundle is what the responder publishes (X3DH §3.2, PQXDH §3.2): the
// identity key, a signed prekey with its signature, optionally a one-time
// prekey, and optionally a signed Kyber prekey. With a Kyber prekey the
// agreement is PQXDH, without one it is X3DH.
type Bundle struct {
	RegistrationID uint32
	DeviceID       uint32
	IdentityKey    identity.PublicKey

	SignedPreKeyID        uint32
	SignedPreKey          identity.PublicKey
	SignedPreKeySignature [identity.SignatureSize]byte

	// PreKey is set when the bundle carries a one-time prekey.
	PreKey *OneTimePreKey
	// KyberPreKey is set when the bundle carries a Kyber prekey (one-time
	// or last resort: the initiator cannot tell, and need not).
	KyberPreKey *KyberPreKey
}

// OneTimePreKey is a bundle's optional one-time prekey.
type OneTimePreKey struct {
	ID  uint32
	Key identity.PublicKey
}

// KyberPreKey is a bundle's signed Kyber prekey (PQXDH's PQPK_B with
// Sig(IK_B, EncodeKEM(PQPK_B))).
type KyberPreKey struct {
	ID        uint32
	Key       kem.PublicKey
	Signature [identity.SignatureSize]byte
}

// Verify checks the prekey signatures by the identity key: the signed
// prekey's, and the Kyber prekey's when there is one ("Alice verifies the
// prekey signatures and aborts the protocol if verification fails", PQXDH
// §3.3).
func (b *Bundle) Verify() error {
	if !identity.Verify(b.IdentityKey, b.SignedPreKey.Bytes(), b.SignedPreKeySignature[:]) {
		return ErrBadSignature
	}
	if k := b.KyberPreKey; k != nil && kem.VerifyPreKey(b.IdentityKey, k.Key, k.Signature[:]) != nil {
		return ErrBadKyberSignature
	}
	return nil
}

// Version is the session version the bundle leads to: SessionVersionPQXDH
// with a Kyber prekey, else SessionVersion.
func (b *Bundle) Version() int {
	if b.KyberPreKey != nil {
		return SessionVersionPQXDH
	}
	return SessionVersion
}

// Secrets are the agreement's outputs: the first root key and chain key of
// the Double Ratchet, and for PQXDH the initial post-quantum ratchet key
// and the Kyber ciphertext. They redact themselves when formatted.
type Secrets struct {
	// Version is SessionVersion (X3DH) or SessionVersionPQXDH.
	Version  int
	RootKey  [secretSize]byte
	ChainKey [secretSize]byte
	// PQRKey is the third part of PQXDH's output, the initial key of the
	// post-quantum ratchet (libsignal's "PQR key", SPQR's auth key). All
	// zero for X3DH.
	PQRKey [secretSize]byte
	// KyberCiphertext is CT, the encapsulation to the responder's Kyber
	// prekey that the initiator sends in its PreKeySignalMessages (PQXDH
	// only; the responder's Secrets carry the one it received).
	KyberCiphertext kem.Ciphertext
}

// Clear wipes the keys. Go cannot guarantee that no copy remains (the
// compiler may have spilled values), only that this one is gone.
func (s *Secrets) Clear() {
	clear(s.RootKey[:])
	clear(s.ChainKey[:])
	clear(s.PQRKey[:])
}

// Initiate is the initiator's side (X3DH §3.3 and PQXDH §3.3, Alice): it
// verifies the bundle, then computes
//
//	DH1 = DH(IK_A, SPK_B)  DH2 = DH(EK_A, IK_B)  DH3 = DH(EK_A, SPK_B)
//	DH4 = DH(EK_A, OPK_B)  (when the bundle has a one-time prekey)
//	X3DH:  SK = KDF(DH1 || DH2 || DH3 || DH4)
//	PQXDH: (CT, SS) = PQKEM-ENC(PQPK_B)
//	       SK = KDF(DH1 || DH2 || DH3 || DH4 || SS)
//
// ek is the initiator's ephemeral ("base") key pair, freshly generated.
// rand is read only for PQXDH, by the encapsulation (32 bytes); it may be
// nil for a bundle without a Kyber prekey.
func Initiate(ik identity.IdentityKeyPair, ek identity.KeyPair, b *Bundle, rand io.Reader) (Secrets, error) {
	if err := b.Verify(); err != nil {
		return Secrets{}, err
	}
	return initiate(ik, ek, b, rand, nil)
}

// initiate is Initiate after the bundle's signatures were checked.
func initiate(ik identity.IdentityKeyPair, ek identity.KeyPair, b *Bundle, rand io.Reader, tr *Trace) (Secrets, error) {
	pairs := []dhPair{
		{ik.KeyPair, b.SignedPreKey},
		{ek, b.IdentityKey},
		{ek, b.SignedPreKey},
	}
	if b.PreKey != nil {
		pairs = append(pairs, dhPair{ek, b.PreKey.Key})
	}
	if b.KyberPreKey == nil {
		return agree(pairs, nil, tr)
	}
	if rand == nil {
		return Secrets{}, errors.New("x3dh: PQXDH needs randomness for the encapsulation")
	}
	ct, ss, err := b.KyberPreKey.Key.Encapsulate(rand)
	if err != nil {
		return Secrets{}, fmt.Errorf("x3dh: %w", err)
	}
	s, err := agree(pairs, &kemStep{ct, ss}, tr)
	clear(ss[:])
	return s, err
}

// ResponderKeys are the responder's private keys named by a PreKeySignalMessage.
type ResponderKeys struct {
	Identity     identity.IdentityKeyPair
	SignedPreKey identity.KeyPair
	// PreKey is the one-time prekey the initiator used, if any.
	PreKey *identity.KeyPair
	// KyberPreKey is the Kyber prekey the initiator encapsulated to, for
	// PQXDH.
	KyberPreKey *kem.KeyPair
}

// Respond is the responder's side (X3DH §3.4 and PQXDH §3.4, Bob): the same
// DH values from his private keys and the initiator's identity and base
// keys, and for PQXDH the decapsulation of the initiator's ciphertext,
//
//	SS = PQKEM-DEC(PQPK_B, CT)
//
// kyberCiphertext must be given exactly when k.KyberPreKey is. The base key
// must be canonical and torsion-free.
func Respond(k ResponderKeys, theirIdentity, theirBase identity.PublicKey, kyberCiphertext *kem.Ciphertext) (Secrets, error) {
	return respond(k, theirIdentity, theirBase, kyberCiphertext, nil)
}

func respond(k ResponderKeys, theirIdentity, theirBase identity.PublicKey, kyberCiphertext *kem.Ciphertext, tr *Trace) (Secrets, error) {
	if (k.KyberPreKey == nil) != (kyberCiphertext == nil) {
		return Secrets{}, ErrKyberMismatch
	}
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
	if k.KyberPreKey == nil {
		return agree(pairs, nil, tr)
	}
	ss := k.KyberPreKey.Decapsulate(*kyberCiphertext)
	s, err := agree(pairs, &kemStep{*kyberCiphertext, ss}, tr)
	clear(ss[:])
	return s, err
}

// dhPair is one DH input: our private key and their public key.
type dhPair struct {
	priv identity.KeyPair
	pub  identity.PublicKey
}

// kemStep is PQXDH's KEM exchange: the ciphertext and its shared secret.
type kemStep struct {
	ct kem.Ciphertext
	ss kem.SharedSecret
}

// agree computes F || DH1 || ... || DHn [|| SS] and applies the KDF of
// X3DH, or of PQXDH when there is a KEM step. With a trace, it records
// copies of the DH outputs, the KEM secret and the result.
func agree(pairs []dhPair, ks *kemStep, tr *Trace) (Secrets, error) {
	km := make([]byte, 0, len(discontinuity)+len(pairs)*identity.SharedSecretSize+kem.SharedSecretSize)
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
	var s Secrets
	if ks == nil {
		s = KDF(km)
	} else {
		km = append(km, ks.ss[:]...)
		if tr != nil {
			ss := ks.ss
			tr.KEM = &ss
		}
		s = KDFPQXDH(km)
		s.KyberCiphertext = ks.ct
	}
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
	okm := expand(km, infoX3DH, 2*secretSize)
	s := Secrets{Version: SessionVersion}
	copy(s.RootKey[:], okm[:secretSize])
	copy(s.ChainKey[:], okm[secretSize:])
	clear(okm)
	return s
}

// KDFPQXDH is the specification's KDF(KM) (PQXDH §2.2) with libsignal's
// parameters, where km already starts with F and ends with the KEM shared
// secret SS:
//
//	HKDF-SHA256(salt = zeros, ikm = F || KM,
//	            info = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024") -> 96 bytes
//	= root key || chain key || PQR key
//
// The Kyber ciphertext of the result is left zero for the caller. It clears km.
func KDFPQXDH(km []byte) Secrets {
	okm := expand(km, infoPQXDH, 3*secretSize)
	s := Secrets{Version: SessionVersionPQXDH}
	copy(s.RootKey[:], okm[:secretSize])
	copy(s.ChainKey[:], okm[secretSize:2*secretSize])
	copy(s.PQRKey[:], okm[2*secretSize:])
	clear(okm)
	return s
}

// expand is HKDF-SHA256 with no salt (which HKDF reads as HashLen zero
// bytes); it clears ikm.
func expand(ikm []byte, info string, n int) []byte {
	okm, err := hkdf.Key(sha256.New, ikm, nil, info, n)
	clear(ikm)
	if err != nil {
		panic("x3dh: internal error: " + err.Error())
	}
	return okm
}

// String redacts the secrets.
func (s Secrets) String() string { return fmt.Sprintf("x3dh.Secrets{Version:%d REDACTED}", s.Version) }

// GoString redacts the secrets.
func (s Secrets) GoString() string { return s.String() }

// Format redacts the secrets for every verb.
func (s Secrets) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }
