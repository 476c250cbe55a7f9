package lab

import (
	"fmt"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/x3dh"
)

// device is one device running the real session layer (session.Cipher
// with a session.MemoryStore), for the labs about bundles, trust and
// prekeys. Its randomness is its own stream, its clock fixed.
type device struct {
	name   string
	addr   session.Address
	ik     identity.IdentityKeyPair
	regID  uint32
	store  *session.MemoryStore
	cipher *session.Cipher
	rand   *Stream
	spk    identity.SignedPreKey
}

// newDevice makes a device at address name.1 whose keys come from the
// stream lab/label under seed: each lab has its own keys, and two devices
// of one lab with the same label have the same identity key.
func newDevice(seed uint64, lab, label, name string) (*device, error) {
	r := NewStream(seed, lab+"/"+label)
	ik, err := identity.GenerateIdentityKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %s identity: %w", label, err)
	}
	reg, err := identity.GenerateRegistrationID(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %s registration id: %w", label, err)
	}
	spk, err := identity.GenerateSignedPreKey(r, ik, 1, labEpochMillis)
	if err != nil {
		return nil, fmt.Errorf("lab: %s signed prekey: %w", label, err)
	}
	st := session.NewMemoryStore(ik, reg)
	st.AddSignedPreKey(spk)
	addr := session.Address{Name: name, DeviceID: 1}
	now := time.UnixMilli(labEpochMillis)
	return &device{
		name: name, addr: addr, ik: ik, regID: reg, store: st, rand: r, spk: spk,
		cipher: &session.Cipher{Store: st, Local: addr, Rand: r, Now: func() time.Time { return now }},
	}, nil
}

// addPreKeys makes n one-time prekeys with ids start.. and stores them;
// it returns their public halves, as uploaded.
func (d *device) addPreKeys(start uint32, n int) ([]x3dh.OneTimePreKey, error) {
	pks, err := identity.GeneratePreKeys(d.rand, start, n)
	if err != nil {
		return nil, fmt.Errorf("lab: %s prekeys: %w", d.name, err)
	}
	out := make([]x3dh.OneTimePreKey, 0, n)
	for _, pk := range pks {
		d.store.AddPreKey(pk)
		out = append(out, x3dh.OneTimePreKey{ID: pk.ID, Key: pk.KeyPair.Public})
	}
	return out, nil
}

// bundle is the device's bundle with the given one-time prekey, if any.
func (d *device) bundle(opk *x3dh.OneTimePreKey) *x3dh.Bundle {
	return &x3dh.Bundle{
		RegistrationID:        d.regID,
		DeviceID:              d.addr.DeviceID,
		IdentityKey:           d.ik.Public,
		SignedPreKeyID:        d.spk.ID,
		SignedPreKey:          d.spk.KeyPair.Public,
		SignedPreKeySignature: d.spk.Signature,
		PreKey:                opk,
	}
}

// envelope is what one device hands the relay for another.
type envelope struct {
	from, to session.Address
	typ      int
	bytes    []byte
}

// send encrypts text for addr through the session layer.
func (d *device) send(to session.Address, text string) (envelope, error) {
	typ, b, err := d.cipher.Encrypt(to, []byte(text))
	if err != nil {
		return envelope{}, fmt.Errorf("lab: %s encrypts: %w", d.name, err)
	}
	return envelope{from: d.addr, to: to, typ: typ, bytes: b}, nil
}

// receive decrypts an envelope through the session layer.
func (d *device) receive(e envelope) (string, error) {
	pt, err := d.cipher.Decrypt(e.from, e.typ, e.bytes)
	if err != nil {
		return "", fmt.Errorf("lab: %s decrypts: %w", d.name, err)
	}
	return string(pt), nil
}

// trusted is the identity key d's store trusts for addr.
func (d *device) trusted(addr session.Address) (identity.PublicKey, error) {
	k, ok, err := d.store.TrustedIdentity(addr)
	if err != nil {
		return k, fmt.Errorf("lab: %w", err)
	}
	if !ok {
		return k, fmt.Errorf("lab: internal error: %s trusts no key for %s", d.name, addr)
	}
	return k, nil
}
