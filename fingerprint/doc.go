// Package fingerprint computes Signal safety numbers: the 60-digit number
// two users read to each other and the QR code payload one scans from the
// other's screen. It follows libsignal v0.72.1 (rust/protocol/src/fingerprint.rs
// and proto/fingerprint.proto) byte for byte, for scannable versions 1 and 2.
//
// The package is pure: no I/O, no clock, no randomness, no logging.
//
// # Construction
//
// Each party's identity key and stable identifier are hashed on their own
// into a 64-byte logical fingerprint. The displayable number is the two
// 30-digit halves, lower first, so both parties see the same 60 digits. The
// scannable form carries both 32-byte prefixes in a small protobuf, local
// first, so the scanner compares its local half with the other's remote
// half and the other way round.
//
// # Spec traceability
//
//	Item (libsignal fingerprint.rs)            Go
//	-----------------------------------------  -------------------------------
//	Fingerprint::get_fingerprint               logicalFingerprint
//	get_encoded_string (6 chunks mod 100000)   encodeHalf
//	DisplayableFingerprint Display ordering    Fingerprint.Displayable
//	ScannableFingerprint::serialize            Fingerprint.Scannable, encodeScannable
//	ScannableFingerprint::compare              CompareScannable, parseScannable
//	Fingerprint::new                           New, NewStandard
//	iteration bounds (1 < n <= 1000000)        MinIterations, MaxIterations
//
// # Differences from libsignal
//
// libsignal decodes the scannable form with a general protobuf decoder: it
// skips unknown fields, accepts repeated fields and non-minimal varints,
// reads a missing version as 0, and answers "no match" for contents of the
// wrong length. CompareScannable accepts only the canonical encoding that
// libsignal's encoder writes (fields in order, minimal varints), and reports
// anything else as ErrMalformed. Any scannable form libsignal writes for
// these versions is accepted here and compares the same way.
//
// libsignal decodes the whole protobuf before it checks the version; here
// the version field, which must come first, is checked before the rest is
// read, so a code of another version is ErrVersionMismatch even if its
// remaining layout differs (libsignal would call some of those a parsing
// error).
package fingerprint
