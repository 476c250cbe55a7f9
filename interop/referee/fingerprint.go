package referee

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Specification constants of libsignal's fingerprint ("safety number"),
// version 2, as PEER.md asks for (libsignal rust/protocol/src/fingerprint.rs).
const (
	fingerprintIterations = 5200
	scannableVersion      = 2  // CombinedFingerprints.version
	scannableContentSize  = 32 // LogicalFingerprint.content
	displayableDigits     = 60 // two halves of six 5-digit groups

	combinedVersion protowire.Number = 1
	combinedLocal   protowire.Number = 2
	combinedRemote  protowire.Number = 3
	logicalContent  protowire.Number = 1
)

// fingerprintHash is one party's iterated hash:
//
//	h_0 = SHA-512(0x0000 || identity_key || stable_id || identity_key)
//	h_i = SHA-512(h_{i-1} || identity_key), for i = 1 .. iterations-1
func fingerprintHash(stableID string, identityKey []byte) []byte {
	h := sha512.New()
	h.Write([]byte{0, 0})
	h.Write(identityKey)
	h.Write([]byte(stableID))
	h.Write(identityKey)
	sum := h.Sum(nil)
	for range fingerprintIterations - 1 {
		h.Reset()
		h.Write(sum)
		h.Write(identityKey)
		sum = h.Sum(sum[:0])
	}
	return sum
}

// displayHalf encodes the first 30 bytes of a hash as six groups of five
// digits: each group is a 5-byte big-endian integer modulo 100000.
func displayHalf(hash []byte) string {
	var b []byte
	for i := range 6 {
		var chunk [8]byte
		copy(chunk[3:], hash[5*i:5*i+5])
		b = fmt.Appendf(b, "%05d", binary.BigEndian.Uint64(chunk[:])%100000)
	}
	return string(b)
}

// displayable joins both halves, the smaller string first, so that both
// parties show the same 60 digits.
func displayable(local, remote string) string {
	if local < remote {
		return local + remote
	}
	return remote + local
}

// expectedFingerprint is the fingerprint a party with localID and localKey
// must report for remoteID and remoteKey.
type expectedFingerprint struct {
	displayable   string
	local, remote []byte // scannable contents
}

func expectFingerprint(localID string, localKey []byte, remoteID string, remoteKey []byte) expectedFingerprint {
	l, r := fingerprintHash(localID, localKey), fingerprintHash(remoteID, remoteKey)
	return expectedFingerprint{
		displayable: displayable(displayHalf(l), displayHalf(r)),
		local:       l[:scannableContentSize],
		remote:      r[:scannableContentSize],
	}
}

// scannable is a decoded CombinedFingerprints protobuf.
type scannable struct {
	version       uint64
	local, remote []byte
}

func parseScannable(b []byte) (scannable, error) {
	fs, err := fields(b, 0)
	if err != nil {
		return scannable{}, fmt.Errorf("scannable fingerprint: %w", err)
	}
	var s scannable
	v, ok := find(fs, combinedVersion)
	if !ok || v.typ != protowire.VarintType {
		return scannable{}, errors.New("scannable fingerprint: no version")
	}
	s.version, _ = protowire.ConsumeVarint(b[v.start:v.end]) // fields already checked it
	if s.local, err = logicalFingerprint(b, fs, combinedLocal); err != nil {
		return scannable{}, fmt.Errorf("scannable fingerprint: local: %w", err)
	}
	if s.remote, err = logicalFingerprint(b, fs, combinedRemote); err != nil {
		return scannable{}, fmt.Errorf("scannable fingerprint: remote: %w", err)
	}
	return s, nil
}

func logicalFingerprint(b []byte, fs []field, num protowire.Number) ([]byte, error) {
	f, ok := find(fs, num)
	if !ok || f.typ != protowire.BytesType {
		return nil, errors.New("missing")
	}
	inner, err := fields(b[f.start:f.end], f.start)
	if err != nil {
		return nil, err
	}
	c, ok := find(inner, logicalContent)
	if !ok || c.typ != protowire.BytesType {
		return nil, errors.New("no content")
	}
	return b[c.start:c.end], nil
}

// checkFingerprint compares a peer's fingerprint reply with the expected one.
func checkFingerprint(got Fingerprint, want expectedFingerprint) error {
	if len(got.Displayable) != displayableDigits {
		return fmt.Errorf("displayable has %d characters, want %d digits", len(got.Displayable), displayableDigits)
	}
	if got.Displayable != want.displayable {
		return fmt.Errorf("displayable %s, want %s", got.Displayable, want.displayable)
	}
	s, err := parseScannable(got.Scannable)
	if err != nil {
		return err
	}
	if s.version != scannableVersion {
		return fmt.Errorf("scannable version %d, want %d", s.version, scannableVersion)
	}
	if !bytes.Equal(s.local, want.local) {
		return fmt.Errorf("scannable local content %x, want %x", s.local, want.local)
	}
	if !bytes.Equal(s.remote, want.remote) {
		return fmt.Errorf("scannable remote content %x, want %x", s.remote, want.remote)
	}
	return nil
}
