package fingerprint

import (
	"crypto/sha512"

	"google.golang.org/protobuf/encoding/protowire"
)

// Specification constants (libsignal v0.72.1, rust/protocol/src/fingerprint.rs
// and proto/fingerprint.proto).
const (
	// Version1 and Version2 are the scannable format versions libsignal
	// knows. They differ only in the version field of the scannable form;
	// the hashing and the displayable number are the same.
	Version1 = 1
	Version2 = 2

	// StandardVersion and StandardIterations are the parameters the Signal
	// apps use, as NewStandard does.
	StandardVersion    = Version2
	StandardIterations = 5200

	// MinIterations and MaxIterations are libsignal's bounds on the
	// iteration count: it refuses iterations <= 1 and > 1000000.
	MinIterations = 2
	MaxIterations = 1000000

	// DisplayableLength is the number of digits in a displayable number:
	// two halves of displayChunks chunks of displayChunkDigits digits.
	DisplayableLength = 2 * displayChunks * displayChunkDigits

	// ScannableContentSize is the length of each logical fingerprint in the
	// scannable form: the first 32 bytes of the SHA-512 chain.
	ScannableContentSize = 32

	// digestSize is the length of one logical fingerprint (SHA-512).
	digestSize = sha512.Size
	// displayChunks is the number of 5-byte chunks read per half.
	displayChunks = 6
	// displayChunkBytes is the length of one chunk, read big-endian.
	displayChunkBytes = 5
	// displayChunkDigits is the number of decimal digits per chunk,
	// zero-padded: each chunk is taken mod displayChunkModulus.
	displayChunkDigits = 5
	// displayChunkModulus is 10^displayChunkDigits.
	displayChunkModulus = 100000
	// displayBytes is the prefix of the digest the displayable number
	// uses: 30 bytes.
	displayBytes = displayChunks * displayChunkBytes
)

// hashVersion is the two-byte prefix hashed before the key in the first
// iteration. It is 0x0000 for every scannable version.
var hashVersion = [2]byte{0x00, 0x00}

// CombinedFingerprints and LogicalFingerprint field numbers
// (proto/fingerprint.proto).
const (
	fieldVersion           protowire.Number = 1 // CombinedFingerprints.version, uint32
	fieldLocalFingerprint  protowire.Number = 2 // CombinedFingerprints.local_fingerprint
	fieldRemoteFingerprint protowire.Number = 3 // CombinedFingerprints.remote_fingerprint
	fieldContent           protowire.Number = 1 // LogicalFingerprint.content, bytes
)

// Implementation constants.
const (
	// maxScannableSize caps the scannable input CompareScannable looks at.
	// The largest canonical encoding for 32-byte contents is 78 bytes; the
	// cap is far above it so that a future version with larger contents
	// still reaches the version check and is reported as a version
	// mismatch, and far below what a QR code can carry (2953 bytes), which
	// is all a peer can send us this way.
	maxScannableSize = 1024

	// groupSize and groupSeparator shape the output of Groups: 12 groups
	// of 5 digits, as the Signal apps show them.
	groupSize      = displayChunkDigits
	groupSeparator = " "
)
