package identity

import (
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	fp "github.com/cloudflare/circl/math/fp25519"
)

// IdentityKeyPair is a long-term identity key: a Curve25519 key pair that
// also signs, with XEdDSA. It redacts its private half when formatted.
type IdentityKeyPair struct {
	KeyPair
}

// GenerateIdentityKeyPair returns a fresh identity key pair read from rand.
func GenerateIdentityKeyPair(rand io.Reader) (IdentityKeyPair, error) {
	kp, err := GenerateKeyPair(rand)
	return IdentityKeyPair{kp}, err
}

// Sign returns an XEdDSA signature of message, reading the 64 random bytes Z
// from rand. It follows the specification exactly (the sign bit of A is
// forced to zero), so any XEdDSA verifier, libsignal's included, accepts it.
func (k IdentityKeyPair) Sign(rand io.Reader, message []byte) ([SignatureSize]byte, error) {
	var z [xeddsaRandomSize]byte
	if _, err := io.ReadFull(rand, z[:]); err != nil {
		return [SignatureSize]byte{}, fmt.Errorf("identity: sign: %w", err)
	}
	return xeddsaSign(k.Private, message, z), nil
}

// xeddsaSign is the specification's xeddsa_sign(k, M, Z) (XEdDSA §2.3):
//
//	A, a = calculate_key_pair(k)
//	r = hash1(a || M || Z) (mod q)
//	R = rB
//	h = hash(R || A || M) (mod q)
//	s = r + ha (mod q)
//	return R || s
func xeddsaSign(k PrivateKey, message []byte, z [xeddsaRandomSize]byte) [SignatureSize]byte {
	A, a := calculateKeyPair(k)

	h1 := sha512.New()
	h1.Write(hash1Prefix[:])
	h1.Write(a.Bytes())
	h1.Write(message)
	h1.Write(z[:])
	r := scalarFromHash(h1.Sum(nil))
	R := new(edwards25519.Point).ScalarBaseMult(r)

	h := challenge(R.Bytes(), A.Bytes(), message)
	s := new(edwards25519.Scalar).MultiplyAdd(h, a, r)

	var sig [SignatureSize]byte
	copy(sig[:32], R.Bytes())
	copy(sig[32:], s.Bytes())
	return sig
}

// calculateKeyPair is the specification's calculate_key_pair(k) (XEdDSA
// §2.3): E = kB; A.y = E.y, A.s = 0; a = -k (mod q) if E.s == 1, else k.
func calculateKeyPair(k PrivateKey) (*edwards25519.Point, *edwards25519.Scalar) {
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(k[:])
	if err != nil {
		panic("identity: internal error: " + err.Error())
	}
	A := new(edwards25519.Point).ScalarBaseMult(a)
	if A.Bytes()[31]&0x80 != 0 {
		a.Negate(a)
		A.Negate(A)
	}
	return A, a
}

// Verify reports whether sig is a valid XEdDSA signature of message by pub
// (XEdDSA §2.3, xeddsa_verify: s must be below 2^|q| = 2^253), with
// libsignal's extension: the sign bit of the Edwards key travels in the
// top bit of the signature (libsignal signs that way for compatibility with
// its Java ancestor). As in libsignal, u is reduced mod p, not refused.
func Verify(pub PublicKey, message, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	A, err := montgomeryToEdwards(pub, sig[63]>>7)
	if err != nil {
		return false
	}
	var sBytes [64]byte
	copy(sBytes[:32], sig[32:])
	sBytes[31] &= 0x7F
	if sBytes[31]&0xE0 != 0 {
		return false
	}
	s := scalarFromHash(sBytes[:])

	h := challenge(sig[:32], A.Bytes(), message)
	minusA := new(edwards25519.Point).Negate(A)
	check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(h, minusA, s)
	return subtle.ConstantTimeCompare(check.Bytes(), sig[:32]) == 1
}

// challenge is h = hash(R || A || M) (mod q).
func challenge(R, A, message []byte) *edwards25519.Scalar {
	h := sha512.New()
	h.Write(R)
	h.Write(A)
	h.Write(message)
	return scalarFromHash(h.Sum(nil))
}

// scalarFromHash reduces a 64-byte little-endian integer modulo q.
func scalarFromHash(digest []byte) *edwards25519.Scalar {
	s, err := new(edwards25519.Scalar).SetUniformBytes(digest)
	if err != nil {
		panic("identity: internal error: " + err.Error())
	}
	return s
}

var errNoEdwardsPoint = errors.New("identity: public key has no Edwards point")

// montgomeryToEdwards is the specification's u_to_y followed by point
// decoding (XEdDSA §2.2): y = (u - 1) / (u + 1), with the given sign bit.
// As in libsignal, the high bit of u is ignored and u is reduced mod p.
func montgomeryToEdwards(u PublicKey, sign byte) (*edwards25519.Point, error) {
	var fu field.Element
	if _, err := fu.SetBytes(u[:]); err != nil {
		return nil, errNoEdwardsPoint
	}
	one := new(field.Element).One()
	den := new(field.Element).Add(&fu, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, errNoEdwardsPoint
	}
	num := new(field.Element).Subtract(&fu, one)
	y := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	yb := y.Bytes()
	yb[31] |= sign << 7
	p, err := new(edwards25519.Point).SetBytes(yb)
	if err != nil {
		return nil, errNoEdwardsPoint
	}
	return p, nil
}

// IsTorsionFree reports whether the point named by u lies in the prime-order
// subgroup, as libsignal requires of an incoming base key. A key with a
// small-order component lets a sender bias the shared secret.
//
// It is [q]P = O, computed with the x-only Montgomery ladder (the point at
// infinity is Z = 0): one 253-bit ladder, about the cost of one agreement.
// u = 0, the point of order 2, is refused first; so is a u naming a point
// of the quadratic twist, whose [q]-multiple is never infinity.
func (k PublicKey) IsTorsionFree() bool {
	x1 := fp.Elt(k)
	x1[31] &= 0x7f
	if fp.IsZero(&x1) {
		return false
	}
	_, z := ladder(&groupOrder, 252, &x1)
	return fp.IsZero(&z)
}

// groupOrder is q = 2^252 + 27742317777372353535851937790883648493, the
// order of the prime-order subgroup, little-endian.
var groupOrder = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
}

// CheckCanonical returns an error unless k is canonically encoded and
// torsion-free: libsignal's PublicKey::is_canonical, applied to an
// incoming base key.
func (k PublicKey) CheckCanonical() error {
	if !k.IsCanonical() {
		return ErrNonCanonical
	}
	if !k.IsTorsionFree() {
		return ErrNotTorsionFree
	}
	return nil
}
