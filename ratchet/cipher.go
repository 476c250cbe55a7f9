package ratchet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/wire"
)

// encrypt is the specification's ENCRYPT(mk, plaintext) as libsignal does
// it: AES-256-CBC with PKCS#7 padding under the message's cipher key and IV
// (the MAC is computed separately, over the serialized message).
func encrypt(mk *MessageKeys, plaintext []byte) []byte {
	block, err := aes.NewCipher(mk.CipherKey[:])
	if err != nil {
		panic("ratchet: internal error: " + err.Error())
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, len(plaintext)+pad)
	copy(out, plaintext)
	for i := len(plaintext); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, mk.IV[:]).CryptBlocks(out, out)
	return out
}

var errPadding = errors.New("ratchet: bad ciphertext")

// decrypt reverses encrypt. It runs only after the MAC has been checked, so
// a padding error here means a peer that encrypts wrongly, not an oracle.
func decrypt(mk *MessageKeys, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errPadding
	}
	block, err := aes.NewCipher(mk.CipherKey[:])
	if err != nil {
		panic("ratchet: internal error: " + err.Error())
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, mk.IV[:]).CryptBlocks(out, ciphertext)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errPadding
	}
	// Constant-time check of the padding bytes.
	good := 1
	for _, b := range out[len(out)-pad:] {
		good &= subtle.ConstantTimeByteEq(b, byte(pad))
	}
	if good != 1 {
		return nil, errPadding
	}
	return out[:len(out)-pad], nil
}

// computeMAC is libsignal's message MAC:
//
//	HMAC-SHA256(mac_key, sender identity (33) || receiver identity (33) ||
//	            version byte || protobuf)[:8]
func computeMAC(macKey *[KeySize]byte, sender, receiver identity.PublicKey, data []byte) [wire.MACSize]byte {
	m := hmac.New(sha256.New, macKey[:])
	var ids [2 * identity.SerializedPublicKeySize]byte
	ids[0] = identity.KeyTypeDJB
	copy(ids[1:], sender[:])
	ids[identity.SerializedPublicKeySize] = identity.KeyTypeDJB
	copy(ids[identity.SerializedPublicKeySize+1:], receiver[:])
	m.Write(ids[:])
	m.Write(data)
	var full [sha256.Size]byte
	m.Sum(full[:0])
	var out [wire.MACSize]byte
	copy(out[:], full[:])
	return out
}

// verifyMAC checks a received message's MAC over the bytes as received.
func verifyMAC(macKey *[KeySize]byte, sender, receiver identity.PublicKey, m *wire.SignalMessage) bool {
	want := computeMAC(macKey, sender, receiver, m.MACInput())
	return hmac.Equal(want[:], m.MAC[:])
}

// Open checks a message's MAC and decrypts it with message keys obtained
// some other way than from a session: the provider's view in `blindpost
// demo` uses it to show what holding a message key (key escrow) would
// give, and that nothing else does. Sessions decrypt with State.Decrypt.
func Open(mk MessageKeys, sender, receiver identity.PublicKey, m *wire.SignalMessage) ([]byte, error) {
	if !verifyMAC(&mk.MACKey, sender, receiver, m) {
		return nil, fmt.Errorf("%w: bad MAC", ErrInvalidMessage)
	}
	pt, err := decrypt(&mk, m.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return pt, nil
}
