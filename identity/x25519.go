package identity

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// x25519 is the X25519 function of RFC 7748 §5: the Montgomery ladder on
// Curve25519 with the clamped scalar k and the u-coordinate u (its high bit
// masked). It computes one scalar multiplication; crypto/ecdh's API would
// also derive our public key on every agreement, which doubles the cost of
// each DH ratchet step. Known-answer tests pin it to RFC 7748 and to
// crypto/ecdh.
func x25519(k *PrivateKey, u *PublicKey) [SharedSecretSize]byte {
	var e [32]byte
	copy(e[:], k[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1 field.Element
	if _, err := x1.SetBytes(u[:]); err != nil {
		panic("identity: internal error: " + err.Error())
	}
	x2, z2 := ladder(&e, 254, &x1)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	var out [SharedSecretSize]byte
	copy(out[:], x2.Bytes())
	clear(e[:])
	return out
}

// ladder is RFC 7748's Montgomery ladder over bits top..0 of the
// little-endian scalar e, from the point with u-coordinate x1. It returns
// the result in projective form (X2 : Z2); Z2 is zero for the point at
// infinity. It runs in constant time for a given top.
func ladder(e *[32]byte, top int, x1 *field.Element) (x2, z2 field.Element) {
	var x3, z3, tmp0, tmp1 field.Element
	x2.One()
	x3.Set(x1)
	z3.One()

	swap := 0
	for pos := top; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)
		z3.Mult32(&tmp1, 121666)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	return x2, z2
}

// basepointMul returns the public key of a clamped private key: the scalar
// times the base point, computed on the Edwards curve (fixed-base tables)
// and converted to the Montgomery u-coordinate.
func basepointMul(k *PrivateKey) PublicKey {
	s, err := new(edwards25519.Scalar).SetBytesWithClamping(k[:])
	if err != nil {
		panic("identity: internal error: " + err.Error())
	}
	var pub PublicKey
	copy(pub[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
	return pub
}

// isZero reports in constant time whether b is all zeros.
func isZero(b []byte) bool {
	var zero [SharedSecretSize]byte
	return subtle.ConstantTimeCompare(b, zero[:]) == 1
}
