package lab

// Specification constants: the labs follow Signal's "The X3DH Key Agreement
// Protocol" (revision 1) and "The Double Ratchet Algorithm" (revision 4) as
// libsignal runs them; the section numbers printed come from there.
const (
	specX3DH    = `Signal, "The X3DH Key Agreement Protocol", revision 1`
	specRatchet = `Signal, "The Double Ratchet Algorithm", revision 4`
	specPQXDH   = `Signal, "The PQXDH Key Agreement Protocol", revision 3`
	specBraid   = `the ML-KEM Braid (SPQR)`
)

// pqxdhF is F of PQXDH section 2.2: "For X25519, F is 32 0xFF bytes",
// before the DH outputs in the KDF's input. The pqxdh lab recomputes SK
// with it.
var pqxdhF = [32]byte{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// Implementation constants.
const (
	// streamDomain separates the labs' randomness from any other use of
	// SHA-256: block i of the stream of party p under seed s is
	// SHA-256(streamDomain || s (8 bytes, big-endian) || len(p) (1 byte) ||
	// p || i (8 bytes, big-endian)). Changing it changes every golden file.
	streamDomain = "blindpost lab randomness v1"

	// DefaultSeed is the seed of a lab run without --seed.
	DefaultSeed = 1

	// fingerprintBytes is how much of a key a short fingerprint shows: its
	// first 4 bytes as 8 hex digits, so a student can find the key in the
	// full hex the walk-throughs print.
	fingerprintBytes = 4

	// hexPerLine is how many bytes one line of hex shows (64 digits).
	hexPerLine = 32

	// nameWidth is the width of the name column of a value line.
	nameWidth = 12

	// longValue is the longest value printed in full: longer ones (Kyber
	// keys and ciphertexts, 1569 bytes) would fill a screen.
	longValue = 96

	// pqMessages is the length of the pqxdh lab's conversation: strictly
	// alternating, SPQR completes epoch 1 at message 86 (3 header chunks,
	// then 30 of ct1 and 36 of the key vector in parallel, then 5 of ct2),
	// so the last four messages are keyed from epoch 1.
	pqMessages = 90

	// labEpochMillis is the fixed clock of the labs that run the session
	// layer (2023-11-14T22:13:20Z): no lab reads the real clock.
	labEpochMillis = 1_700_000_000_000
)
