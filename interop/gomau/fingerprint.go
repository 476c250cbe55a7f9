package main

import (
	"crypto/sha512"
	"fmt"

	"go.mau.fi/libsignal/fingerprint"
	"go.mau.fi/libsignal/serialize"
	"google.golang.org/protobuf/proto"
)

// Safety numbers as libsignal computes them (rust/protocol/src/fingerprint.rs).
//
// go.mau.fi/libsignal's fingerprint package has only half of this: its Display turns two hashes
// into the 60-digit string exactly as libsignal does, and its serialize package has the
// CombinedFingerprints protobuf. It has no implementation of its FingerprintGenerator interface
// (no iterated hash) and its Fingerprint.Scan is never filled in. The hash is written here; the
// rest is the library's.
const (
	// fingerprintVersion is the scannable format version, written into CombinedFingerprints.
	fingerprintVersion = 2
	// fingerprintIterations is the number of SHA-512 iterations.
	fingerprintIterations = 5200
	// fingerprintHashVersion is the big-endian u16 that starts the first hash input. It is 0 for
	// every scannable version.
	fingerprintHashVersion = 0
	// scannableLength is how much of each hash the scannable form carries.
	scannableLength = 32
)

// fingerprintHash computes one party's fingerprint hash:
//
//	h_0 = SHA-512(u16be(0) || key || id || key)
//	h_i = SHA-512(h_(i-1) || key)    for i = 1 .. iterations-1
//
// where key is the serialized identity key (0x05 || 32 bytes) and id the stable identifier.
func fingerprintHash(id, key []byte) []byte {
	h := sha512.New()
	h.Write([]byte{fingerprintHashVersion >> 8, fingerprintHashVersion & 0xff})
	h.Write(key)
	h.Write(id)
	h.Write(key)
	sum := h.Sum(nil)
	for i := 1; i < fingerprintIterations; i++ {
		h.Reset()
		h.Write(sum)
		h.Write(key)
		sum = h.Sum(sum[:0])
	}
	return sum
}

// safetyNumber returns the displayable (60 digits) and scannable (CombinedFingerprints protobuf)
// fingerprints of a conversation, seen from the local side.
func safetyNumber(localID, localKey, remoteID, remoteKey []byte) (displayable string, scannable []byte, err error) {
	local := fingerprintHash(localID, localKey)
	remote := fingerprintHash(remoteID, remoteKey)
	displayable = fingerprint.NewDisplay(local, remote).DisplayText()
	scannable, err = proto.Marshal(&serialize.CombinedFingerprints{
		Version:           proto.Uint32(fingerprintVersion),
		LocalFingerprint:  &serialize.LogicalFingerprint{Content: local[:scannableLength]},
		RemoteFingerprint: &serialize.LogicalFingerprint{Content: remote[:scannableLength]},
	})
	if err != nil {
		return "", nil, fmt.Errorf("fingerprint: encode scannable: %w", err)
	}
	return displayable, scannable, nil
}
