package identity

import (
	"filippo.io/edwards25519"
	x25519c "github.com/cloudflare/circl/dh/x25519"
	fp "github.com/cloudflare/circl/math/fp25519"
)

// x25519 is the X25519 function of RFC 7748 §5: the Montgomery ladder on
// Curve25519 with the clamped scalar k and the u-coordinate u (its high bit
// masked). It is CIRCL's X25519, whose amd64 field arithmetic (MULX/ADX)
// makes an agreement about 1.7 times faster than crypto/ecdh's, and which
// takes the private key as bytes (crypto/ecdh's API would also derive our
// public key on every agreement). ok is false for a low-order u, whose
// output is all zeros (RFC 7748 §6.1). Known-answer tests pin it to
// RFC 7748 and to crypto/ecdh.
func x25519(k *PrivateKey, u *PublicKey) (out [SharedSecretSize]byte, ok bool) {
	ok = x25519c.Shared((*x25519c.Key)(&out), (*x25519c.Key)(k), (*x25519c.Key)(u))
	return out, ok
}

// a24 is (486662 - 2) / 4, RFC 7748's constant for the ladder.
var a24 = fp.Elt{0x42, 0xdb, 0x01}

// ladder is RFC 7748's Montgomery ladder over bits top..0 of the
// little-endian scalar e, from the point with u-coordinate x1. It returns
// the result in projective form (X2 : Z2); Z2 is zero for the point at
// infinity. It runs in constant time for a given top. Agreements use
// CIRCL's ladder, which clamps the scalar; this one serves scalars that
// are not private keys (the group order, for IsTorsionFree).
func ladder(e *[32]byte, top int, x1 *fp.Elt) (x2, z2 fp.Elt) {
	var x3, z3, tmp0, tmp1 fp.Elt
	fp.SetOne(&x2)
	x3 = *x1
	fp.SetOne(&z3)

	swap := uint(0)
	for pos := top; pos >= 0; pos-- {
		b := uint(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		fp.Cswap(&x2, &x3, swap)
		fp.Cswap(&z2, &z3, swap)
		swap = b

		fp.Sub(&tmp0, &x3, &z3)
		fp.Sub(&tmp1, &x2, &z2)
		fp.Add(&x2, &x2, &z2)
		fp.Add(&z2, &x3, &z3)
		fp.Mul(&z3, &tmp0, &x2)
		fp.Mul(&z2, &z2, &tmp1)
		fp.Sqr(&tmp0, &tmp1)
		fp.Sqr(&tmp1, &x2)
		fp.Add(&x3, &z3, &z2)
		fp.Sub(&z2, &z3, &z2)
		fp.Mul(&x2, &tmp1, &tmp0)
		fp.Sub(&tmp1, &tmp1, &tmp0)
		fp.Sqr(&z2, &z2)
		fp.Mul(&z3, &tmp1, &a24)
		fp.Sqr(&x3, &x3)
		fp.Add(&tmp0, &tmp0, &z3)
		fp.Mul(&z3, x1, &z2)
		fp.Mul(&z2, &tmp1, &tmp0)
	}
	fp.Cswap(&x2, &x3, swap)
	fp.Cswap(&z2, &z3, swap)
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
