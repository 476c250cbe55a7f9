// Command gomau-peer wraps go.mau.fi/libsignal v0.2.1 (the Go port of the Java libsignal) in an
// interop peer that speaks version 1 of the peer contract in /work/shared/interop/PEER.md: one JSON
// request per line on standard input, exactly one JSON reply per line on standard output, logs on
// standard error only.
//
// It lives in its own Go module so that blindpost itself never depends on go.mau.fi/libsignal.
// Build it with:
//
//	cd interop/gomau && go build -o /some/dir/gomau-peer .
//
// # What the peer adds to the library, and what it does not
//
// The peer supplies what the library leaves to its caller and nothing more:
//
//   - in-memory stores that behave like persistent ones: every record is kept serialized and every
//     load returns a freshly deserialized copy, so a decryption that fails before the library stores
//     its record leaves the session exactly as it was (stores.go);
//   - trust on first use per name and device, with approve_identity to accept a changed key;
//   - the iterated fingerprint hash, which the library's fingerprint package lacks (fingerprint.go);
//   - mapping of the library's error sentinels to the contract's error kinds (errors.go);
//   - recovery from the library's panics on malformed input, reported as errors.
//
// Whatever the library itself gets wrong is left visible, so that a referee records its real
// behaviour. The defects seen here are listed in README.md and pinned by defects_test.go.
//
// # Things the library needs the peer to know
//
//   - Its default logger prints Info, Warning and Error lines to standard output, which would corrupt
//     the reply stream, and every log call formats its arguments (keys, ciphertexts) first. main
//     replaces the global logger with one that discards everything before any other call into the
//     library, which also avoids the data race in its lazy logger initialisation.
//   - A one-time prekey id of 0 is read back as "no prekey", so ids start at 1.
//   - It speaks only session version 3 (X3DH); it has no Kyber and no SPQR.
package main
