package fingerprint

import (
	"crypto/sha512"
	"fmt"
	"math"

	"github.com/blindpost/blindpost/identity"
)

// Fingerprint is a safety number as one party computes it: the local party's
// and the remote party's logical fingerprints, and the scannable version.
// Fingerprints are public values.
type Fingerprint struct {
	version uint32
	local   [digestSize]byte
	remote  [digestSize]byte
}

// New computes the safety number between the local party (localID,
// localKey) and the remote party (remoteID, remoteKey), with the given
// scannable version and iteration count, as libsignal's Fingerprint::new.
//
// The identifiers are the parties' stable identifiers as bytes; libsignal
// hashes them as given (its tests use E.164 numbers in UTF-8), so both
// parties must encode each identifier the same way. The
// version must fit in a uint32 and iterations must lie within
// [MinIterations, MaxIterations].
func New(version, iterations int, localID []byte, localKey identity.PublicKey, remoteID []byte, remoteKey identity.PublicKey) (Fingerprint, error) {
	if version < 0 || uint64(version) > math.MaxUint32 {
		return Fingerprint{}, fmt.Errorf("fingerprint: version %d out of range", version)
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Fingerprint{}, fmt.Errorf("fingerprint: iterations %d out of range [%d, %d]",
			iterations, MinIterations, MaxIterations)
	}
	return Fingerprint{
		version: uint32(version),
		local:   logicalFingerprint(iterations, localID, localKey),
		remote:  logicalFingerprint(iterations, remoteID, remoteKey),
	}, nil
}

// NewStandard is New with the parameters the Signal apps use:
// StandardVersion (2) and StandardIterations (5200).
func NewStandard(localID []byte, localKey identity.PublicKey, remoteID []byte, remoteKey identity.PublicKey) (Fingerprint, error) {
	return New(StandardVersion, StandardIterations, localID, localKey, remoteID, remoteKey)
}

// logicalFingerprint is one party's fingerprint, libsignal's
// Fingerprint::get_fingerprint, a chain of iterations SHA-512 calls:
//
//	H_1 = SHA-512(0x0000 || key || id || key)
//	H_i = SHA-512(H_(i-1) || key)    for i = 2 .. iterations
//
// where key is the 33-byte serialization 0x05 || u, and the result is
// H_iterations. The caller has checked iterations >= MinIterations.
func logicalFingerprint(iterations int, id []byte, key identity.PublicKey) [digestSize]byte {
	k := key.Bytes()
	h := sha512.New()
	h.Write(hashVersion[:])
	h.Write(k)
	h.Write(id)
	h.Write(k)
	var out [digestSize]byte
	h.Sum(out[:0])
	for i := 1; i < iterations; i++ {
		h.Reset()
		h.Write(out[:])
		h.Write(k)
		h.Sum(out[:0])
	}
	return out
}

// Displayable returns the 60-digit safety number. Both parties compute the
// same string: the two 30-digit halves are ordered lower first
// (libsignal's DisplayableFingerprint Display).
func (f Fingerprint) Displayable() string {
	l, r := encodeHalf(f.local), encodeHalf(f.remote)
	if l < r {
		return l + r
	}
	return r + l
}

// encodeHalf is libsignal's get_encoded_string: the first 30 bytes of a
// logical fingerprint read as six 5-byte big-endian integers, each taken
// mod 100000 and written as 5 zero-padded decimal digits.
func encodeHalf(fp [digestSize]byte) string {
	b := make([]byte, 0, displayChunks*displayChunkDigits)
	for c := range displayChunks {
		var n uint64
		for _, x := range fp[c*displayChunkBytes : (c+1)*displayChunkBytes] {
			n = n<<8 | uint64(x)
		}
		b = fmt.Appendf(b, "%0*d", displayChunkDigits, n%displayChunkModulus)
	}
	return string(b)
}

// String returns the displayable number in groups, for logs and debugging.
func (f Fingerprint) String() string { return Groups(f.Displayable()) }
