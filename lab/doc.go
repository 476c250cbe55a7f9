// Package lab holds blindpost's teaching labs: deterministic walk-throughs
// of X3DH, the Double Ratchet, PQXDH and SPQR, and attacks that show what
// the protocol protects against (`blindpost lab`, exercises in docs/labs).
//
// A lab runs the protocol packages themselves (identity, kem, x3dh,
// ratchet, spqr, wire, session, fingerprint) on keys drawn from a Stream,
// the labs' only source of randomness: every Generate*, Sign and Decrypt call reads a
// party's Stream, and no lab reads crypto/rand or the clock. The same seed
// therefore prints the same bytes on any machine; the golden files in
// testdata/golden pin them.
//
// To print an intermediate value, a lab recomputes it with the exported
// specification functions (x3dh's traced agreement, ratchet.KDFRK, KDFCK,
// DeriveMessageKeys, spqr's traced calls and KDFs) and checks it against
// the state and message the protocol returned: the MAC must verify and the
// ciphertext decrypt under the printed key (trace.go, spqr.go). A mismatch
// stops the lab with an internal error, so a printed value is always the
// one the protocol used.
//
// The output rules are at the top of ui.go.
//
// # Spec traceability
//
//	Item                                        Lab, printed as            Go
//	------------------------------------------  -------------------------  ------------------------------------
//	X3DH bundle, Sig(IK_B, Encode(SPK_B)) 3.2   x3dh, section 1            identity.GenerateSignedPreKey
//	DH1..DH4, SK = KDF(F || DH1 || ..) 3.3      x3dh, section 3            x3dh.InitiateTraced, x3dh.KDF
//	Bob's DH1..DH4 3.4                          x3dh, section 6            x3dh.RespondTraced
//	RatchetInitAlice / RatchetInitBob (DR 3.3)  x3dh 4, ratchet 2          ratchet.NewInitiator, NewResponder
//	KDF_RK (DR 5.2)                             dh_out, RKn, CK(key,0)     ratchet.KDFRK
//	KDF_CK (DR 5.2)                             CK(key,n), mk(key,n)       ratchet.KDFCK
//	message keys (libsignal)                    mk.cipher, mk.mac, mk.iv   ratchet.DeriveMessageKeys
//	RatchetEncrypt, HEADER (DR 3.4)             ratchet, "sends"           ratchet.State.Encrypt, wire.SignalMessage
//	RatchetDecrypt, DHRatchet, SkipMessageKeys  ratchet, "receives"        ratchet.State.Decrypt
//	MAX_SKIP and libsignal's limits             attack out-of-order        ratchet.MaxForwardJumps and others
//	safety numbers (libsignal)                  attack mitm                fingerprint.NewStandard
//	sessions, prekey deletion, trust            attack mitm, prekey-...    session.Cipher, session.MemoryStore
//	PQXDH bundle, Sig(IK_B, EncodeKEM(PQPK_B))  pqxdh, sections 1-2        kem.GeneratePreKey, x3dh.Bundle.Verify
//	(CT, SS) = PQKEM-ENC, SK = KDF(.. || SS)    pqxdh, sections 2-3        x3dh.InitiateTraced, RespondTraced, KDFPQXDH
//	SPQR messages (pq_ratchet), chunks          pqxdh, sections 5-6        spqr.State.SendTraced, RecvTraced, Describe
//	SPQR chain, epoch secret (ML-KEM Braid)     pqxdh, sections 4-7        spqr.KDFChainStart, KDFChainNext,
//	                                                                       KDFChainAddEpoch, KDFEpochSecret
//	SPQR key as the message keys' salt          pqxdh, section 5           ratchet.DeriveMessageKeys(seed, pq)
//
// # Files
//
//	stream.go        the seeded randomness (Stream)
//	ui.go            the output rules and the printer
//	trace.go         Encrypt and Decrypt with the keys they used, checked
//	conversation.go  Alice and Bob: X3DH or PQXDH, then the ratchet, with a log
//	device.go        a device on the session layer (mitm, prekey-exhaustion)
//	spqr.go          SPQR replayed with spqr's traced calls; the lab's SPQR chain
//	x3dh.go, ratchet.go, pqxdh.go      walk-throughs
//	harvest.go       pqxdh's future attacker (harvest now, decrypt later)
//	theft.go, forward.go               forward-secrecy, post-compromise
//	outoforder.go, mitm.go, prekeys.go, provider.go   the other attacks
//	visual.go        the steps the visual ratchet draws (package lab/visual)
package lab
