package kem

import "crypto/aes"

// drbg is the NIST PQC competition's randombytes (rng.c of every
// submission): AES-256 CTR_DRBG of SP 800-90A without a derivation
// function and without reseeding, as PQCgenKAT_kem.c uses it to turn a KAT
// file's 48-byte seed into the randomness of key generation and
// encapsulation. Test code only.
type drbg struct {
	key [32]byte
	v   [16]byte
}

// newDRBG is randombytes_init(entropy_input, NULL, 256).
func newDRBG(seed [48]byte) *drbg {
	d := &drbg{}
	d.update(&seed)
	return d
}

// block increments V and returns AES(key, V).
func (d *drbg) block() [16]byte {
	for i := 15; i >= 0; i-- {
		d.v[i]++
		if d.v[i] != 0 {
			break
		}
	}
	c, err := aes.NewCipher(d.key[:])
	if err != nil {
		panic(err)
	}
	var out [16]byte
	c.Encrypt(out[:], d.v[:])
	return out
}

// update is AES256_CTR_DRBG_Update.
func (d *drbg) update(provided *[48]byte) {
	var temp [48]byte
	for i := range 3 {
		b := d.block()
		copy(temp[16*i:], b[:])
	}
	if provided != nil {
		for i := range temp {
			temp[i] ^= provided[i]
		}
	}
	copy(d.key[:], temp[:32])
	copy(d.v[:], temp[32:])
}

// Read is randombytes: one call, then a state update. Callers must make
// the same calls as the reference code: two reads of 16 bytes are not one
// read of 32.
func (d *drbg) Read(p []byte) (int, error) {
	for off := 0; off < len(p); off += 16 {
		b := d.block()
		copy(p[off:], b[:])
	}
	d.update(nil)
	return len(p), nil
}
