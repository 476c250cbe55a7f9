package referee

import (
	"encoding/json"
	"fmt"
)

// This file holds the request and reply shapes of the peer contract,
// /work/shared/interop/PEER.md, version 1. Binary fields are []byte, which
// encoding/json writes and reads as standard base64 with padding, as the
// contract requires.

// Error kinds of the peer contract.
const (
	KindDuplicate         = "duplicate"
	KindInvalidMessage    = "invalid_message"
	KindUntrustedIdentity = "untrusted_identity"
	KindNoSession         = "no_session"
	KindInvalidKeyID      = "invalid_key_id"
	KindUnsupported       = "unsupported"
	KindBadRequest        = "bad_request"
	KindOther             = "other"
)

// Ciphertext message types of the peer contract.
const (
	TypeSignal = 2 // SignalMessage
	TypePreKey = 3 // PreKeySignalMessage
)

// Address names one device of a remote party.
type Address struct {
	Name     string `json:"name"`
	DeviceID int    `json:"device_id"`
}

// String returns "name.device", as libsignal prints addresses.
func (a Address) String() string { return fmt.Sprintf("%s.%d", a.Name, a.DeviceID) }

// PeerError is an error reply of a peer: `"ok": false`.
type PeerError struct {
	Op      string
	Kind    string
	Message string
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("%s replied %s: %s", e.Op, e.Kind, e.Message)
}

// Bundle is a prekey bundle as a peer produced it. Raw is handed on to the
// other peer unchanged; the parsed fields are only inspected.
type Bundle struct {
	Raw json.RawMessage `json:"-"`

	RegistrationID        int     `json:"registration_id"`
	DeviceID              int     `json:"device_id"`
	IdentityKey           []byte  `json:"identity_key"`
	SignedPreKeyID        uint32  `json:"signed_prekey_id"`
	SignedPreKey          []byte  `json:"signed_prekey"`
	SignedPreKeySignature []byte  `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id"`
	PreKey                []byte  `json:"prekey"`
	KyberPreKeyID         *uint32 `json:"kyber_prekey_id"`
	KyberPreKey           []byte  `json:"kyber_prekey"`
	KyberPreKeySignature  []byte  `json:"kyber_prekey_signature"`
}

// Ciphertext is one encrypted message exactly as the sending peer produced it.
type Ciphertext struct {
	Type  int    `json:"type"`
	Bytes []byte `json:"ciphertext"`
}

// Fingerprint is a peer's fingerprint reply.
type Fingerprint struct {
	Displayable string `json:"displayable"`
	Scannable   []byte `json:"scannable"`
}

// Session is a peer's session reply.
type Session struct {
	Exists  bool `json:"exists"`
	Version int  `json:"version"`
}

type opRequest struct {
	Op string `json:"op"`
}

type initRequest struct {
	Op             string `json:"op"`
	Name           string `json:"name"`
	DeviceID       int    `json:"device_id"`
	RegistrationID int    `json:"registration_id"`
}

type bundleRequest struct {
	Op            string `json:"op"`
	OneTimePreKey bool   `json:"one_time_prekey"`
	Kyber         bool   `json:"kyber"`
}

type processBundleRequest struct {
	Op     string          `json:"op"`
	Remote Address         `json:"remote"`
	Bundle json.RawMessage `json:"bundle"`
}

type encryptRequest struct {
	Op        string  `json:"op"`
	Remote    Address `json:"remote"`
	Plaintext []byte  `json:"plaintext"`
}

type decryptRequest struct {
	Op         string  `json:"op"`
	Remote     Address `json:"remote"`
	Type       int     `json:"type"`
	Ciphertext []byte  `json:"ciphertext"`
}

type remoteRequest struct {
	Op     string  `json:"op"`
	Remote Address `json:"remote"`
}

type fingerprintRequest struct {
	Op       string  `json:"op"`
	LocalID  string  `json:"local_id"`
	RemoteID string  `json:"remote_id"`
	Remote   Address `json:"remote"`
}

type approveRequest struct {
	Op          string  `json:"op"`
	Remote      Address `json:"remote"`
	IdentityKey []byte  `json:"identity_key"`
}

// envelope is the common part of every reply.
type envelope struct {
	OK    bool `json:"ok"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

type initReply struct {
	IdentityKey []byte `json:"identity_key"`
}

type bundleReply struct {
	Bundle json.RawMessage `json:"bundle"`
}

type decryptReply struct {
	Plaintext []byte `json:"plaintext"`
}
