package main

// JSON shapes of the peer contract (PEER.md, version 1). Byte fields are []byte, which encoding/json
// reads and writes as standard base64 with padding. Required integers are pointers so that a missing
// field can be told apart from zero.

// request is the union of every operation's fields; each operation reads only its own.
type request struct {
	Op string `json:"op"`

	// init
	Name           string  `json:"name"`
	DeviceID       *uint32 `json:"device_id"`
	RegistrationID *uint32 `json:"registration_id"`

	// bundle
	OneTimePreKey bool `json:"one_time_prekey"`
	Kyber         bool `json:"kyber"`

	// process_bundle, encrypt, decrypt, session, fingerprint, approve_identity
	Remote *address `json:"remote"`

	Bundle      *bundle `json:"bundle"`
	Plaintext   []byte  `json:"plaintext"`
	Type        *int    `json:"type"`
	Ciphertext  []byte  `json:"ciphertext"`
	LocalID     *string `json:"local_id"`
	RemoteID    *string `json:"remote_id"`
	IdentityKey []byte  `json:"identity_key"`
}

// address names one device of a remote party.
type address struct {
	Name     string  `json:"name"`
	DeviceID *uint32 `json:"device_id"`
}

// bundle is a prekey bundle as it travels between peers. The Kyber fields are parsed only to refuse
// them: the library has no Kyber.
type bundle struct {
	RegistrationID        *uint32 `json:"registration_id"`
	DeviceID              *uint32 `json:"device_id"`
	IdentityKey           []byte  `json:"identity_key"`
	SignedPreKeyID        *uint32 `json:"signed_prekey_id"`
	SignedPreKey          []byte  `json:"signed_prekey"`
	SignedPreKeySignature []byte  `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id,omitempty"`
	PreKey                []byte  `json:"prekey,omitempty"`
	KyberPreKeyID         *uint32 `json:"kyber_prekey_id,omitempty"`
	KyberPreKey           []byte  `json:"kyber_prekey,omitempty"`
	KyberPreKeySignature  []byte  `json:"kyber_prekey_signature,omitempty"`
}

// results holds the fields of a successful reply, next to "ok": true.
type results map[string]any

// Message types on the wire (the library's protocol.WHISPER_TYPE and protocol.PREKEY_TYPE).
const (
	typeSignalMessage       = 2
	typePreKeySignalMessage = 3
)
