// Package kem holds the key encapsulation mechanism of PQXDH as libsignal
// runs it: CRYSTALS-Kyber1024 as submitted to round 3 of the NIST PQC
// competition (not FIPS 203 ML-KEM-1024, whose shared secrets differ), with
// libsignal's serialization: a type byte 0x08 before every public key and
// ciphertext; and Kyber prekeys, signed by the identity key.
//
// The Kyber arithmetic is CIRCL's (github.com/cloudflare/circl,
// kem/kyber/kyber1024); this package adds fixed-size key types, strict
// parsers, and the signatures (through package identity).
//
// The package is pure: no I/O, no clock, no logging. Randomness enters only
// through GenerateKeyPair, GeneratePreKey and Encapsulate, each reading a
// fixed number of bytes from the io.Reader it is given, so a seeded reader
// gives the same keys and ciphertexts every time.
package kem

// Specification constants (Kyber round 3 specification, version 3.02, §1.4
// and Table 1, parameter set Kyber1024; libsignal rust/protocol/src/kem.rs
// for the type bytes).
const (
	// KeyTypeKyber1024 prefixes a serialized Kyber1024 public key and
	// ciphertext (libsignal's KeyType::Kyber1024).
	KeyTypeKyber1024 = 0x08

	// PublicKeySize is the length of a packed Kyber1024 public key:
	// 4 polynomials of 384 bytes, then the 32-byte seed rho.
	PublicKeySize = 1568
	// SerializedPublicKeySize is the type byte plus the key.
	SerializedPublicKeySize = 1 + PublicKeySize
	// PrivateKeySize is the length of a packed Kyber1024.CCAKEM private
	// key: the CPA private key (1536), the public key (1568), H(pk) (32)
	// and the implicit-rejection secret z (32).
	PrivateKeySize = 1536 + PublicKeySize + 32 + 32
	// CiphertextSize is the length of a Kyber1024 ciphertext: u (4 x 352
	// bytes) and v (160 bytes).
	CiphertextSize = 1568
	// SerializedCiphertextSize is the type byte plus the ciphertext.
	SerializedCiphertextSize = 1 + CiphertextSize
	// SharedSecretSize is the length of the encapsulated shared secret.
	SharedSecretSize = 32
	// SeedSize is the randomness of key generation: d (32 bytes, the seed
	// of the CPA key pair) then z (32 bytes), read in that order as the
	// reference implementation's crypto_kem_keypair reads them.
	SeedSize = 64
	// EncapsulationSeedSize is the randomness of one encapsulation: the
	// message m before round 3 hashes it (m = H(m)).
	EncapsulationSeedSize = 32
)

// Other KEM type bytes libsignal defines, named only to refuse them with a
// clear error (libsignal rust/protocol/src/kem.rs).
const (
	keyTypeKyber768  = 0x07
	keyTypeMLKEM1024 = 0x0A
)
