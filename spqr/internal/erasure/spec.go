// Package erasure is the systematic Reed-Solomon erasure code that SPQR uses
// to send the ML-KEM Braid messages (the 64-byte header and its MAC, the
// 1152-byte key vector, the 960-byte ct1, the 128-byte ct2 and its MAC) a
// 32-byte chunk at a time, one chunk per Signal message: any n distinct
// chunks rebuild a message of n·32 bytes, whichever were lost.
//
// It is wire-compatible with the encoding of the SPQR crate
// (signalapp/SparsePostQuantumRatchet, src/encoding/polynomial.rs and gf.rs),
// the reference of the ML-KEM Braid specification (signal.org/docs, "ML-KEM
// Braid", section "Chunking with Erasure Codes"). The field is GF(2^16) with reduction polynomial
// x^16+x^12+x^3+x+1 (0x1100B); addition is XOR (gf.go). A message of L bytes
// (L even) is L/2 big-endian 16-bit elements e_0 .. e_{L/2-1}. Element i is
// the value at x = i/16 of polynomial p = i mod 16, so polynomial p holds
// the points (0, e_p), (1, e_{16+p}), (2, e_{32+p}), ... and has
// n_p = ⌈(L/2 - p)/16⌉ of them. Chunk k (0 <= k <= 65535) is the value at
// x = k of each of the 16 polynomials, the unique one of degree < n_p
// through its points:
//
//	| bytes    | content                             |
//	|----------|-------------------------------------|
//	| 2j, 2j+1 | big-endian f_j(k), for j = 0 .. 15  |
//
// For k < n_p that is the element e_{16k+j} itself, so chunks 0 .. n-1 laid
// end to end start with the message (the code is systematic). A polynomial
// with one point is constant, one without points is zero everywhere.
//
// Evaluation and interpolation use the barycentric Lagrange form
// (lagrange.go): a chunk costs O(16·n) field operations. The data coded here
// is public (keys and ciphertexts on the wire, authenticated by the caller
// with a MAC), so table lookups indexed by it are no side channel of concern.
//
// Spec item to Go function:
//
//	| spec / crate item                      | Go                                |
//	|----------------------------------------|-----------------------------------|
//	| GF16 add, mul, div                     | XOR, mul, addLog/subLog (gf.go)   |
//	| PolyEncoder::encode_bytes              | NewEncoder                        |
//	| PolyEncoder::chunk_at                  | (*Encoder).Chunk, ChunkOf         |
//	| PolyDecoder::new                       | NewDecoder                        |
//	| PolyDecoder::add_chunk                 | (*Decoder).Add                    |
//	| PolyDecoder::decoded_message           | (*Decoder).Message                |
//	| PolyDecoder::into_pb / from_pb         | MarshalBinary / UnmarshalDecoder  |
//	|                                        | (own format, see marshal.go)      |
package erasure

// Specification constants (SPQR src/encoding/gf.rs and polynomial.rs).
const (
	// ChunkSize is the size of one chunk: one 16-bit element of each
	// polynomial.
	ChunkSize = 32
	// polys is the number of interleaved polynomials, ChunkSize/2.
	polys = ChunkSize / 2
	// fieldPoly is the reduction polynomial x^16+x^12+x^3+x+1 of GF(2^16).
	fieldPoly = 0x1100B
	// MaxMessageSize is the largest message the crate encodes
	// (PolyEncoder::encode_bytes refuses more than 2^16·16 bytes): 32768
	// points per polynomial. The field itself would allow twice as much
	// (x = 0 .. 65535), but then no chunk index would be left for parity.
	MaxMessageSize = (1 << 16) * polys
)

// Implementation constants.
const (
	// fieldOrder is the number of field elements; groupOrder is the order
	// of the multiplicative group, the modulus of discrete logarithms.
	fieldOrder = 1 << 16
	groupOrder = fieldOrder - 1
	// generator generates the multiplicative group: x itself, since
	// fieldPoly is primitive (TestGeneratorIsPrimitive checks it).
	generator = 2
	// formatVersion is the first byte of a marshalled Decoder.
	formatVersion = 1
)
