// Package kem768 is ML-KEM-768 (FIPS 203) used as an incremental KEM, as
// the ML-KEM Braid specification (signal.org/docs, "ML-KEM Braid",
// sections "Incremental KEMs" and "ML-KEM as an incremental KEM") and the
// SPQR crate (src/incremental_mlkem768.rs, over libcrux's
// mlkem768::incremental) define it.
//
// The encapsulation key is sent in two parts. The header is small and
// sent first; the key vector follows:
//
//	| part       | bytes | content                                      |
//	|------------|-------|----------------------------------------------|
//	| header     | 64    | ρ (32, the matrix seed) || H(ek) (32)         |
//	| key vector | 1152  | ByteEncode_12(t̂), that is ek[0:1152]         |
//
// where ek = ByteEncode_12(t̂) || ρ is the standard 1184-byte encapsulation
// key and H is SHA3-256. Encapsulation runs in two halves.
// ML-KEM.Encaps_internal (FIPS 203 Algorithm 17) computes, with G = SHA3-512,
// (K, r) = G(m || H(ek)) and
// c = K-PKE.Encrypt(ek, m, r) (Algorithm 14) with c = c1 || c2, where
// c1 = Compress(u), u = NTT⁻¹(Âᵀ∘r̂) + e1, needs only ρ (for Â) and r, and
// c2 = Compress(v), v = NTT⁻¹(t̂ᵀ∘r̂) + e2 + Decompress_1(m), needs t̂:
//
//	| step   | needs                 | gives                              |
//	|--------|-----------------------|------------------------------------|
//	| Encaps1| header, m (random)    | ct1 = c1 (960 bytes), K, state = m |
//	| Encaps2| header, key vector, m | ct2 = c2 (128 bytes)               |
//	| Decaps | dk, ct1 || ct2        | K (ML-KEM.Decaps, Algorithm 21)    |
//
// ct1 || ct2 is a standard ML-KEM-768 ciphertext and K the standard shared
// secret, so Decaps is crypto/mlkem's. K-PKE.Encrypt is CIRCL's
// (pke/kyber/kyber768, the same K-PKE as FIPS 203): for ct1 it is given an
// encapsulation key with t̂ = 0 and the header's ρ, since c1 does not
// depend on t̂ (TestCiphertext1IgnoresT checks it).
//
// Spec item to Go function:
//
//	| spec / crate item                               | Go                     |
//	|-------------------------------------------------|------------------------|
//	| ML-KEM.KeyGen (Alg. 19) + split, crate generate | GenerateKey            |
//	| crate encaps1 (libcrux encapsulate1)            | Encaps1                |
//	| crate encaps2 (libcrux encapsulate2)            | Encaps2                |
//	| crate ek_matches_header (validate_pk_bytes),    | KeyVectorMatchesHeader |
//	| FIPS 203 §7.2 encapsulation key check           |                        |
//	| crate decaps (ML-KEM.Decaps, Alg. 21)           | Decaps                 |
//
// The crate keeps libcrux's 2400-byte decapsulation key and 2080-byte
// encapsulation state; this package keeps the 64-byte seed d || z and the
// 32-byte m instead. Neither is sent, so the wire is the same.
package kem768

// Specification constants: FIPS 203 Table 3 sizes for ML-KEM-768 and the
// header split of the ML-KEM Braid specification.
const (
	// rhoSize and hashSize are the sizes of ρ and of H(ek).
	rhoSize  = 32
	hashSize = 32
	// HeaderSize is ρ || H(ek).
	HeaderSize = rhoSize + hashSize
	// KeyVectorSize is ByteEncode_12(t̂): 3 polynomials of 256 12-bit
	// coefficients.
	KeyVectorSize = 3 * 256 * 12 / 8
	// EncapsulationKeySize is ek = key vector || ρ.
	EncapsulationKeySize = KeyVectorSize + rhoSize
	// Ciphertext1Size is c1: 3 polynomials compressed to d_u = 10 bits.
	Ciphertext1Size = 3 * 256 * 10 / 8
	// Ciphertext2Size is c2: one polynomial compressed to d_v = 4 bits.
	Ciphertext2Size = 256 * 4 / 8
	// CiphertextSize is the full ML-KEM-768 ciphertext c1 || c2.
	CiphertextSize = Ciphertext1Size + Ciphertext2Size
	// DecapsulationKeySize is the seed d || z of ML-KEM.KeyGen_internal.
	DecapsulationKeySize = 64
	// EncapsStateSize is the message m of ML-KEM.Encaps_internal, all that
	// Encaps2 needs beside the header and the key vector.
	EncapsStateSize = 32
	// SharedSecretSize is the size of K.
	SharedSecretSize = 32
)
