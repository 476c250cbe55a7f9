// Package bench measures blindpost against go.mau.fi/libsignal v0.2.1 and
// against the floor of primitive operations that each protocol step cannot
// avoid, row by row, in one `go test -bench` run. It is its own module so
// that the main module does not depend on go.mau.fi/libsignal.
//
// BenchmarkRows has three families over the same rows:
//
//	BenchmarkRows/blindpost/<row>   session.Cipher with a session.MemoryStore
//	BenchmarkRows/gomau/<row>       go.mau.fi/libsignal with its in-memory stores
//	BenchmarkRows/floor/<row>       the unavoidable primitives, called directly
//
// The post-quantum rows (PQXDH, SPQR) run only on the families that have
// them (Row.Runs): go.mau.fi/libsignal has neither.
//
// cmd/compare runs them and prints the comparison table kept in
// docs/performance.md.
package bench

import "slices"

// Families are the three implementations each row runs on, in the order
// the benchmark runs them.
var Families = []string{"blindpost", "gomau", "floor"}

// Row is one line of the comparison: one operation, done the same way by
// every family. One benchmark op is one message (for setup: one session).
type Row struct {
	Name string
	// Size is the plaintext length in bytes.
	Size int
	// What says what one op does.
	What string
	// Floor lists the primitive operations of one op that the protocol
	// cannot avoid; the floor family does exactly these.
	Floor string
	// FloorTarget is set on the encrypt+decrypt rows, which the target
	// "within 1.3x of the primitive floor" applies to.
	FloorTarget bool
	// PQ rows start sessions with PQXDH from a bundle with a Kyber prekey
	// and run version-4 sessions with SPQR required on both sides
	// (session.Cipher.SPQRMinimum = spqr.V1).
	PQ bool
	// Without names the families that have no equivalent of the row: they
	// do not run it, and the table shows "n/a" for them rather than a
	// ratio to something else. go.mau.fi/libsignal v0.2.1 has neither
	// PQXDH nor SPQR; the floor has no SPQR.
	Without []string
}

// Runs reports whether family runs the row.
func (r Row) Runs(family string) bool { return !slices.Contains(r.Without, family) }

// BurstSize is the number of messages of one out-of-order burst.
const BurstSize = 16

// Rows are the rows of the table, in order.
var Rows = []Row{
	{
		Name: "setup", Size: 100,
		What: "Alice verifies Bob's bundle (with a one-time prekey) and starts the session, " +
			"encrypts a first 100-byte message (a PreKeySignalMessage); Bob answers it with X3DH " +
			"and decrypts it. Fresh identities and prekeys each op, made outside the timer.",
		Floor: "1 XEdDSA verify; 3 X25519 key generations (Alice's base and ratchet keys, Bob's new " +
			"ratchet key); 11 X25519 agreements (Alice: DH1-DH4 and the first ratchet step; Bob: " +
			"DH1-DH4 and the two agreements of his DH ratchet step); 2 X3DH KDFs and 3 KDF_RK " +
			"(HKDF-SHA256 to 64 bytes); then the 100-byte oneway work below.",
	},
	{
		Name: "oneway_100B", FloorTarget: true, Size: 100,
		What: "Alice encrypts a 100-byte message, Bob decrypts it, always in the same direction " +
			"(symmetric-key ratchet steps only).",
		Floor: "per side: KDF_CK (one HMAC-SHA256 key, two outputs), message keys (HKDF-SHA256 to " +
			"80 bytes), AES-256-CBC of 112 bytes with its key schedule, the 8-byte message MAC " +
			"(HMAC-SHA256 over 66 identity bytes, the version byte and the ~155-byte protobuf).",
	},
	{
		Name: "oneway_4KiB", FloorTarget: true, Size: 4096,
		What:  "As oneway_100B with a 4096-byte message.",
		Floor: "as oneway_100B, with AES-256-CBC of 4112 bytes and the MAC over ~4.2 KB.",
	},
	{
		Name: "alternating_100B", FloorTarget: true, Size: 100,
		What: "A 100-byte message, strictly alternating direction: every decrypt meets a new " +
			"ratchet key and does a DH ratchet step.",
		Floor: "sender: the oneway sender's work. Receiver: 2 X25519 agreements, 1 X25519 key " +
			"generation, 2 KDF_RK (HKDF-SHA256 to 64 bytes), then the oneway receiver's work.",
	},
	{
		Name: "alternating_4KiB", FloorTarget: true, Size: 4096,
		What:  "As alternating_100B with a 4096-byte message.",
		Floor: "as alternating_100B, with the 4 KiB AES-CBC and MAC.",
	},
	{
		Name: "out_of_order", FloorTarget: true, Size: 100,
		What: "Alice encrypts bursts of 16 messages of 100 bytes; Bob decrypts each burst in " +
			"reverse order (the first decrypt skips 15 keys). ns/op is per message.",
		Floor: "the same primitives as oneway_100B per message: the 16 chain steps are done " +
			"anyway, only earlier; storing the skipped message seeds is bookkeeping, not a primitive.",
	},
	{
		Name: "setup_pqxdh", Size: 100, PQ: true, Without: []string{"gomau"},
		What: "As setup, with PQXDH: Bob's bundle also carries a signed one-time Kyber1024 prekey, " +
			"which Alice verifies and encapsulates to and Bob decapsulates; the session is version 4 " +
			"with SPQR required on both sides, so Alice's first message also starts SPQR's first " +
			"epoch (an ML-KEM-768 key pair, the first erasure-coded chunk of its header) and its " +
			"message keys are salted with SPQR's first key.",
		Floor: "setup's primitives, plus 1 XEdDSA verify (the Kyber prekey's signature), 1 Kyber1024 " +
			"encapsulation to the bundle's key (unpacking it included) and 1 decapsulation, the PQXDH " +
			"KDF to 96 bytes instead of X3DH's 64 on each side, and 1 ML-KEM-768 key generation " +
			"(SPQR's first epoch). Not in the floor: SPQR's KDF chain, header MAC and erasure coding.",
	},
	{
		Name: "oneway_100B_spqr", Size: 100, PQ: true, Without: []string{"gomau", "floor"},
		What: "As oneway_100B in a version-4 session with SPQR. One-way traffic cannot finish an " +
			"SPQR epoch (each needs chunks from both sides), so this is SPQR's per-message cost: one " +
			"erasure-coded chunk in each message, one SPQR chain step per side, salted message keys.",
		Floor: "none: the floor has no SPQR.",
	},
	{
		Name: "alternating_100B_spqr", Size: 100, PQ: true, Without: []string{"gomau", "floor"},
		What: "As alternating_100B in a version-4 session with SPQR: the messages carry SPQR's " +
			"chunks both ways and complete an epoch about every 100 messages, so the ML-KEM-768 key " +
			"generation, encapsulation and decapsulation of each epoch are spread over its messages.",
		Floor: "none: the floor has no SPQR.",
	},
}
