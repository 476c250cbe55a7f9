package x3dh

import (
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// Trace receives copies of the agreement's intermediate values, for the
// teaching labs (blindpost lab) that print them. The traced functions run
// exactly the code of Initiate and Respond; only the copies are extra.
// Secrets held in a Trace are not cleared: never trace a real session.
type Trace struct {
	// DH holds DH1..DH4 in the specification's order (DH4 only with a
	// one-time prekey).
	DH [][identity.SharedSecretSize]byte
	// KEM is SS, the KEM shared secret that ends PQXDH's input (PQXDH
	// §3.3); nil for X3DH.
	KEM *kem.SharedSecret
	// Secrets is SK split into the first root key and chain key (and, for
	// PQXDH, the PQR key), with the Kyber ciphertext.
	Secrets Secrets
}

// InitiateTraced is Initiate, recording into tr.
func InitiateTraced(ik identity.IdentityKeyPair, ek identity.KeyPair, b *Bundle, rand io.Reader, tr *Trace) (Secrets, error) {
	if err := b.Verify(); err != nil {
		return Secrets{}, err
	}
	return initiate(ik, ek, b, rand, tr)
}

// RespondTraced is Respond, recording into tr.
func RespondTraced(k ResponderKeys, theirIdentity, theirBase identity.PublicKey, kyberCiphertext *kem.Ciphertext, tr *Trace) (Secrets, error) {
	return respond(k, theirIdentity, theirBase, kyberCiphertext, tr)
}
