package protocol

import (
	"encoding/binary"

	"github.com/blindpost/blindpost/identity"
)

// AuthenticateTranscript is what an identity key signs (XEdDSA) to
// authenticate a connection as (name, device):
//
//	label || 0x00 || nonce (32) || u8 len(name) || name || u32be device
//
// The nonce is fresh for every connection, so a signature cannot be
// replayed on another connection. The caller has checked name and nonce.
func AuthenticateTranscript(nonce []byte, name string, device uint32) []byte {
	return transcript(labelAuthenticate, nonce, name, device)
}

// RegisterTranscript is what the identity key being registered signs, as
// proof that the registrant holds it:
//
//	label || 0x00 || nonce (32) || u8 len(name) || name || u32be device ||
//	u32be registration id || identity key (33)
func RegisterTranscript(nonce []byte, name string, device, registrationID uint32, key identity.PublicKey) []byte {
	b := transcript(labelRegister, nonce, name, device)
	b = binary.BigEndian.AppendUint32(b, registrationID)
	return append(b, key.Bytes()...)
}

// IdentityChangeTranscript is what the current identity key of an account
// signs to hand its name over to a new identity key:
//
//	label || 0x00 || nonce (32) || u8 len(name) || name || u32be device ||
//	new identity key (33)
func IdentityChangeTranscript(nonce []byte, name string, device uint32, newKey identity.PublicKey) []byte {
	b := transcript(labelIdentityChange, nonce, name, device)
	return append(b, newKey.Bytes()...)
}

func transcript(label string, nonce []byte, name string, device uint32) []byte {
	b := make([]byte, 0, len(label)+1+len(nonce)+1+len(name)+4+4+identity.SerializedPublicKeySize)
	b = append(b, label...)
	b = append(b, 0)
	b = append(b, nonce...)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	return binary.BigEndian.AppendUint32(b, device)
}
