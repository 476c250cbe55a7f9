package bench

// The floor family: the primitive operations that each row cannot avoid,
// called directly, with the least state and framing that still makes the
// messages real (TestFloorIsTheProtocol checks that blindpost's parser and
// ratchet accept them; TestFloorSetupIsTheProtocol that blindpost's
// session layer answers its first message, X3DH and PQXDH).
//
// What the floor leaves out, on purpose, because the protocol does not
// require it: copying state to commit only after authentication, wiping
// secrets, strict parsing and range checks, the base key's torsion check,
// a store, trust checks, allocation of a plaintext buffer (it decrypts in
// place). What it keeps: every X25519 key generation and agreement, every
// HMAC-SHA256 and HKDF-SHA256 the key schedule specifies, the AES-256-CBC
// key schedule and blocks, the MAC over the exact message bytes, the XEdDSA
// verifications of the bundle, and writing the message in libsignal's
// layout; for PQXDH, the Kyber1024 encapsulation and decapsulation and the
// ML-KEM-768 key generation of SPQR's first epoch. The floor runs no SPQR
// beyond that key generation: no SPQR data in its messages, so no SPQR rows.
//
// Primitives are used as cheaply as the project's dependencies allow: each
// through the fastest implementation among them, the same one blindpost
// uses. X25519 is CIRCL's (github.com/cloudflare/circl/dh/x25519, amd64
// MULX/ADX assembly), given the private key as bytes, so an agreement is
// one scalar multiplication (crypto/ecdh's is slower, and its
// NewPrivateKey computes the public key, a second one). Key generation is
// a fixed-base multiplication on the Edwards curve (filippo.io/edwards25519,
// precomputed tables) mapped to the Montgomery u-coordinate, instead of a
// ladder from the base point. BenchmarkPrimitives measures both against
// crypto/ecdh. One HMAC key serves both outputs of KDF_CK and all blocks of
// an HKDF expand (crypto/hmac's Reset keeps the keyed state). XEdDSA is not
// in the standard library: it is done with filippo.io/edwards25519, the
// module the standard library's crypto/internal/fips140/edwards25519 is
// copied from. Nor is Kyber1024 (round 3, not FIPS 203's ML-KEM-1024): it
// is CIRCL's, as in blindpost's kem package, with Bob's private key
// unpacked once as his store would hold it parsed. ML-KEM-768 is
// crypto/mlkem's.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/cloudflare/circl/dh/x25519"
)

// libsignal's key schedule and wire constants.
const (
	infoX3DH         = "WhisperText"
	infoPQXDH        = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"
	infoRatchet      = "WhisperRatchet"
	infoMessageKeys  = "WhisperMessageKeys"
	versionX3DH      = 0x33
	versionPQXDH     = 0x44
	macSize          = 8
	keyTypeDJB       = 0x05
	keyTypeKyber1024 = 0x08
)

var (
	errFloorFormat    = errors.New("floor: malformed message")
	errFloorMAC       = errors.New("floor: bad MAC")
	errFloorSignature = errors.New("floor: bad signed prekey signature")
	errFloorCounter   = errors.New("floor: counter out of range")
	errFloorLowOrder  = errors.New("floor: low-order public key")
)

// x3dhF is X3DH's F: 32 0xFF bytes before the DH outputs.
var x3dhF = [32]byte{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

var zeroSalt [sha256.Size]byte

// floorHKDF fills out with HKDF-SHA256(salt, ikm, info) (RFC 5869): one
// HMAC for the extract, one keyed HMAC for all blocks of the expand.
func floorHKDF(out, ikm, salt []byte, info string) {
	if salt == nil {
		salt = zeroSalt[:]
	}
	var prk, t [sha256.Size]byte
	ext := hmac.New(sha256.New, salt)
	ext.Write(ikm)
	ext.Sum(prk[:0])
	exp := hmac.New(sha256.New, prk[:])
	ctr := []byte{0}
	for i := 1; len(out) > 0; i++ {
		if i > 1 {
			exp.Reset()
			exp.Write(t[:])
		}
		exp.Write([]byte(info))
		ctr[0] = byte(i)
		exp.Write(ctr)
		exp.Sum(t[:0])
		out = out[copy(out, t[:]):]
	}
}

// floorKDFCK is KDF_CK: seed = HMAC(ck, 0x01), next = HMAC(ck, 0x02).
func floorKDFCK(ck *[32]byte) (seed, next [32]byte) {
	h := hmac.New(sha256.New, ck[:])
	h.Write([]byte{0x01})
	h.Sum(seed[:0])
	h.Reset()
	h.Write([]byte{0x02})
	h.Sum(next[:0])
	return seed, next
}

// floorKDFRK is KDF_RK: HKDF(salt = root, ikm = dh, "WhisperRatchet") -> 64.
func floorKDFRK(root *[32]byte, dh []byte) (newRoot, chain [32]byte) {
	var okm [64]byte
	floorHKDF(okm[:], dh, root[:], infoRatchet)
	copy(newRoot[:], okm[:32])
	copy(chain[:], okm[32:])
	return newRoot, chain
}

// floorKey is an X25519 key pair held as bytes: the clamped private key
// and its public key (u-coordinate), each computed once.
type floorKey struct{ priv, pub [32]byte }

// newFloorKey generates a key pair: 32 random bytes, clamped (RFC 7748
// §5), and the public key from them. crypto/rand.Read does not fail.
func newFloorKey() floorKey {
	var priv [32]byte
	rand.Read(priv[:])
	return floorKeyFrom(&priv)
}

// floorKeyFrom is the key pair of the private key priv (clamped): its
// public key is the clamped scalar times the base point, computed on the
// Edwards curve with edwards25519's fixed-base tables and mapped to the
// Montgomery u-coordinate, the same point as X25519(priv, 9).
func floorKeyFrom(priv *[32]byte) (k floorKey) {
	k.priv = *priv
	k.priv[0] &= 248
	k.priv[31] &= 127
	k.priv[31] |= 64
	s, err := new(edwards25519.Scalar).SetBytesWithClamping(k.priv[:])
	if err != nil {
		panic(err) // only for a length other than 32
	}
	copy(k.pub[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
	return k
}

// dh is X25519(our private key, their public key), CIRCL's: one scalar
// multiplication. Like crypto/ecdh's ECDH it refuses a low-order public
// key, whose output is all zeros (RFC 7748 §6.1).
func (k *floorKey) dh(their *[32]byte) (out [32]byte, err error) {
	if !x25519.Shared((*x25519.Key)(&out), (*x25519.Key)(&k.priv), (*x25519.Key)(their)) {
		return out, errFloorLowOrder
	}
	return out, nil
}

// floorMAC is the message MAC: HMAC(mac key, sender identity || receiver
// identity || version byte || protobuf).
func floorMAC(macKey []byte, sender, receiver *[33]byte, data []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, macKey)
	h.Write(sender[:])
	h.Write(receiver[:])
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// floorXEdDSAVerify is xeddsa_verify (XEdDSA §2.6) with libsignal's sign
// bit in the top bit of the signature: u to Edwards y (one inversion),
// point decompression, SHA-512, one double-base scalar multiplication,
// one encoding of the result (one inversion).
func floorXEdDSAVerify(u, msg, sig []byte) bool {
	var fu, one, num, den, y field.Element
	if _, err := fu.SetBytes(u); err != nil {
		return false
	}
	one.One()
	num.Subtract(&fu, &one)
	den.Add(&fu, &one)
	y.Multiply(&num, den.Invert(&den))
	a := y.Bytes()
	a[31] |= sig[63] & 0x80
	A, err := new(edwards25519.Point).SetBytes(a)
	if err != nil {
		return false
	}
	var sb [32]byte
	copy(sb[:], sig[32:])
	sb[31] &= 0x7F
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(sb[:])
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(a)
	h.Write(msg)
	k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		return false
	}
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, A.Negate(A), s)
	return subtle.ConstantTimeCompare(R.Bytes(), sig[:32]) == 1
}

type floorSkipped struct {
	n    uint32
	seed [32]byte
}

// floorPending is what Alice repeats in prekey messages until Bob answers;
// for PQXDH also the Kyber prekey id and the ciphertext (0x08 || 1568 bytes).
type floorPending struct {
	opkID, spkID, regID uint32
	base                [32]byte
	kyberID             uint32
	kyberCT             []byte
}

// floorParty is the least state of a Double Ratchet party.
type floorParty struct {
	version       byte     // versionX3DH or versionPQXDH
	local, remote [33]byte // serialized identity keys, bound into every MAC
	root          [32]byte

	sendKey floorKey
	sendPub [32]byte
	sendCK  [32]byte
	sendN   uint32
	prevN   uint32

	hasRecv bool
	recvPub [32]byte
	recvCK  [32]byte
	recvN   uint32
	// skipped holds the seeds of skipped messages of the receiving chain.
	skipped  [BurstSize]floorSkipped
	nSkipped int

	pending *floorPending
	// spqrKey is the ML-KEM-768 key pair of SPQR's first epoch, which a
	// version-4 initiator makes for its first message (the floor sends no
	// SPQR data: see Rows).
	spqrKey *mlkem.DecapsulationKey768
}

// encrypt is one symmetric step of the sending chain and one message in
// libsignal's layout: version || {1: ratchet key, 2: counter, 3: previous
// counter, 4: ciphertext} || MAC, wrapped in a prekey message while Bob has
// not answered.
func (p *floorParty) encrypt(pt []byte) []byte {
	seed, next := floorKDFCK(&p.sendCK)
	var mk [80]byte
	floorHKDF(mk[:], seed[:], nil, infoMessageKeys)

	ctLen := len(pt) + aes.BlockSize - len(pt)%aes.BlockSize
	m := make([]byte, 0, 1+3+32+2*(1+binary.MaxVarintLen32)+1+binary.MaxVarintLen32+ctLen+macSize)
	m = append(m, p.version, 0x0a, 33, keyTypeDJB)
	m = append(m, p.sendPub[:]...)
	m = append(m, 0x10)
	m = binary.AppendUvarint(m, uint64(p.sendN))
	m = append(m, 0x18)
	m = binary.AppendUvarint(m, uint64(p.prevN))
	m = append(m, 0x22)
	m = binary.AppendUvarint(m, uint64(ctLen))
	body := len(m)
	m = append(m, pt...)
	for pad := byte(ctLen - len(pt)); len(m) < body+ctLen; {
		m = append(m, pad)
	}
	block, err := aes.NewCipher(mk[:32])
	if err != nil {
		panic(err)
	}
	cipher.NewCBCEncrypter(block, mk[64:]).CryptBlocks(m[body:], m[body:])
	mac := floorMAC(mk[32:64], &p.local, &p.remote, m)
	m = append(m, mac[:macSize]...)

	p.sendCK = next
	p.sendN++
	if p.pending != nil {
		return p.pending.wrap(p.version, m, &p.local)
	}
	return m
}

// wrap is the PreKeySignalMessage: version || {1: one-time prekey id,
// 2: base key, 3: identity key, 4: message, 5: registration id, 6: signed
// prekey id[, 7: Kyber prekey id, 8: Kyber ciphertext]}.
func (pd *floorPending) wrap(version byte, inner []byte, ik *[33]byte) []byte {
	m := make([]byte, 0, 1+1+binary.MaxVarintLen32+2*(2+33)+1+binary.MaxVarintLen32+len(inner)+3*(1+binary.MaxVarintLen32)+
		1+binary.MaxVarintLen32+len(pd.kyberCT))
	m = append(m, version, 0x08)
	m = binary.AppendUvarint(m, uint64(pd.opkID))
	m = append(m, 0x12, 33, keyTypeDJB)
	m = append(m, pd.base[:]...)
	m = append(m, 0x1a, 33)
	m = append(m, ik[:]...)
	m = append(m, 0x22)
	m = binary.AppendUvarint(m, uint64(len(inner)))
	m = append(m, inner...)
	m = append(m, 0x28)
	m = binary.AppendUvarint(m, uint64(pd.regID))
	m = append(m, 0x30)
	m = binary.AppendUvarint(m, uint64(pd.spkID))
	if pd.kyberCT != nil {
		m = append(m, 0x38)
		m = binary.AppendUvarint(m, uint64(pd.kyberID))
		m = append(m, 0x42)
		m = binary.AppendUvarint(m, uint64(len(pd.kyberCT)))
		m = append(m, pd.kyberCT...)
	}
	return m
}

// varintField reads a varint field with the given tag byte.
func varintField(b []byte, tag byte) (uint64, []byte, bool) {
	if len(b) == 0 || b[0] != tag {
		return 0, nil, false
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[1+n:], true
}

// bytesField reads a length-delimited field with the given tag byte.
func bytesField(b []byte, tag byte) ([]byte, []byte, bool) {
	l, rest, ok := varintField(b, tag)
	if !ok || l > uint64(len(rest)) {
		return nil, nil, false
	}
	return rest[:l], rest[l:], true
}

// decrypt reads the fields the receiver needs, does a DH ratchet step for a
// new ratchet key, takes or derives the message seed, checks the MAC and
// decrypts in place.
func (p *floorParty) decrypt(m []byte) ([]byte, error) {
	if len(m) < 1+35+macSize || m[0] != p.version || m[1] != 0x0a || m[2] != 33 || m[3] != keyTypeDJB {
		return nil, errFloorFormat
	}
	var their [32]byte
	copy(their[:], m[4:36])
	rest := m[36 : len(m)-macSize]
	counter, rest, ok1 := varintField(rest, 0x10)
	_, rest, ok2 := varintField(rest, 0x18)
	ct, rest, ok3 := bytesField(rest, 0x22)
	if !ok1 || !ok2 || !ok3 || len(rest) != 0 || counter > 1<<32-1 ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errFloorFormat
	}
	if !p.hasRecv || their != p.recvPub {
		if err := p.dhRatchet(&their); err != nil {
			return nil, err
		}
	}
	seed, err := p.receiveSeed(uint32(counter))
	if err != nil {
		return nil, err
	}
	var mk [80]byte
	floorHKDF(mk[:], seed[:], nil, infoMessageKeys)
	mac := floorMAC(mk[32:64], &p.remote, &p.local, m[:len(m)-macSize])
	if !hmac.Equal(mac[:macSize], m[len(m)-macSize:]) {
		return nil, errFloorMAC
	}
	block, err := aes.NewCipher(mk[:32])
	if err != nil {
		panic(err)
	}
	cipher.NewCBCDecrypter(block, mk[64:]).CryptBlocks(ct, ct)
	pad := int(ct[len(ct)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errFloorFormat
	}
	p.pending = nil
	return ct[:len(ct)-pad], nil
}

// dhRatchet is DHRatchet (Double Ratchet §3.5): a receiving chain from
// DH(our ratchet key, theirs), a fresh ratchet key pair, a sending chain
// from DH(the new key, theirs).
func (p *floorParty) dhRatchet(their *[32]byte) error {
	dh, err := p.sendKey.dh(their)
	if err != nil {
		return err
	}
	p.root, p.recvCK = floorKDFRK(&p.root, dh[:])
	next := newFloorKey()
	if dh, err = next.dh(their); err != nil {
		return err
	}
	p.root, p.sendCK = floorKDFRK(&p.root, dh[:])
	p.hasRecv, p.recvPub, p.recvN, p.nSkipped = true, *their, 0, 0
	p.prevN, p.sendN = p.sendN, 0
	p.sendKey, p.sendPub = next, next.pub
	return nil
}

// receiveSeed returns the seed of message counter on the receiving chain:
// a stored one for a skipped message, else chain steps up to it, storing
// the seeds skipped on the way.
func (p *floorParty) receiveSeed(counter uint32) ([32]byte, error) {
	if counter < p.recvN {
		for i := range p.nSkipped {
			if p.skipped[i].n == counter {
				seed := p.skipped[i].seed
				p.nSkipped--
				p.skipped[i] = p.skipped[p.nSkipped]
				return seed, nil
			}
		}
		return [32]byte{}, errFloorCounter
	}
	for p.recvN < counter {
		if p.nSkipped == len(p.skipped) {
			return [32]byte{}, errFloorCounter
		}
		seed, next := floorKDFCK(&p.recvCK)
		p.skipped[p.nSkipped] = floorSkipped{p.recvN, seed}
		p.nSkipped++
		p.recvCK, p.recvN = next, p.recvN+1
	}
	seed, next := floorKDFCK(&p.recvCK)
	p.recvCK, p.recvN = next, p.recvN+1
	return seed, nil
}
