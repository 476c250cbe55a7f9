// Package peer is blindpost's side of the interop peer contract
// (shared/interop/PEER.md, version 1): a line-oriented JSON protocol that
// lets a referee drive one Signal device as one party of a conversation.
// It is backed by the session package with an in-memory store whose
// records are reloaded from their stored form at every commit.
package peer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// maxLine bounds one request line. A 64 KiB plaintext makes a line of about
// 90 KB; 16 MiB leaves room for anything a referee sends on purpose.
const maxLine = 16 << 20

// Error kinds of PEER.md.
const (
	kindDuplicate         = "duplicate"
	kindInvalidMessage    = "invalid_message"
	kindUntrustedIdentity = "untrusted_identity"
	kindNoSession         = "no_session"
	kindInvalidKeyID      = "invalid_key_id"
	kindUnsupported       = "unsupported"
	kindBadRequest        = "bad_request"
	kindOther             = "other"
)

// Peer is one local device speaking the contract.
type Peer struct {
	rand  io.Reader
	now   func() time.Time
	local *device
	// SPQRMinimum is passed to the session cipher: spqr.V0 (the default)
	// offers SPQR and falls back for a peer without it (libsignal 0.72);
	// spqr.V1 requires it, as blindpost's own clients do.
	SPQRMinimum spqr.Version
}

// device exists once init has run.
type device struct {
	addr   session.Address
	store  *session.MemoryStore
	cipher *session.Cipher
	nextID uint32
}

// reloading is the session store the peer's cipher uses: a MemoryStore
// whose commits go through a record's stored form (session.MarshalRecord,
// then session.UnmarshalRecord), as a client's database does. Every
// operation after a session's first one thus runs on a reloaded record,
// SPQR state included, in whatever phase of an epoch the conversation is.
type reloading struct{ *session.MemoryStore }

// Commit implements session.Store.
func (s reloading) Commit(c session.Commit) error {
	raw, err := session.MarshalRecord(c.Record)
	if err != nil {
		return fmt.Errorf("peer: store the session record: %w", err)
	}
	if c.Record, err = session.UnmarshalRecord(raw); err != nil {
		return fmt.Errorf("peer: reload the session record: %w", err)
	}
	return s.MemoryStore.Commit(c)
}

// New returns a peer that draws keys from rand and reads time from now.
func New(rand io.Reader, now func() time.Time) *Peer {
	return &Peer{rand: rand, now: now}
}

// Serve reads requests from in and writes one reply line per request to
// out, until quit or the end of in. It returns nil in both cases.
func (p *Peer) Serve(in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(out)
	for {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return w.Flush()
		}
		var reply any
		quit := false
		switch {
		case errors.Is(err, errLineTooLong):
			reply = errorReply(kindBadRequest, err.Error())
		case err != nil && !errors.Is(err, io.EOF):
			return fmt.Errorf("peer: read: %w", err)
		case len(bytes.TrimSpace(line)) == 0:
			continue
		default:
			reply, quit = p.handle(line)
		}
		if err := writeReply(w, reply); err != nil {
			return err
		}
		if quit {
			return nil
		}
	}
}

var errLineTooLong = fmt.Errorf("request line longer than %d bytes", maxLine)

// readLine returns the next line without its newline; a line over maxLine
// is consumed and reported as errLineTooLong.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) <= maxLine {
			line = append(line, chunk...)
		} else {
			line = line[:0:0]
			if !errors.Is(err, bufio.ErrBufferFull) {
				return nil, errLineTooLong
			}
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

func writeReply(w *bufio.Writer, reply any) error {
	b, err := json.Marshal(reply)
	if err != nil {
		return fmt.Errorf("peer: internal error: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("peer: write: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("peer: write: %w", err)
	}
	return nil
}

// request carries every field any operation uses.
type request struct {
	Op             string   `json:"op"`
	Name           string   `json:"name"`
	DeviceID       *uint32  `json:"device_id"`
	RegistrationID *uint32  `json:"registration_id"`
	OneTimePreKey  bool     `json:"one_time_prekey"`
	Kyber          bool     `json:"kyber"`
	Remote         *address `json:"remote"`
	Bundle         *bundle  `json:"bundle"`
	Plaintext      *[]byte  `json:"plaintext"`
	Type           int      `json:"type"`
	Ciphertext     *[]byte  `json:"ciphertext"`
	LocalID        *string  `json:"local_id"`
	RemoteID       *string  `json:"remote_id"`
	IdentityKey    []byte   `json:"identity_key"`
}

type address struct {
	Name     string `json:"name"`
	DeviceID uint32 `json:"device_id"`
}

type bundle struct {
	RegistrationID        uint32  `json:"registration_id"`
	DeviceID              uint32  `json:"device_id"`
	IdentityKey           []byte  `json:"identity_key"`
	SignedPreKeyID        uint32  `json:"signed_prekey_id"`
	SignedPreKey          []byte  `json:"signed_prekey"`
	SignedPreKeySignature []byte  `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id,omitempty"`
	PreKey                []byte  `json:"prekey,omitempty"`
	KyberPreKeyID         *uint32 `json:"kyber_prekey_id,omitempty"`
	KyberPreKey           []byte  `json:"kyber_prekey,omitempty"`
	KyberPreKeySignature  []byte  `json:"kyber_prekey_signature,omitempty"`
}

// failure is an error with its PEER.md kind.
type failure struct {
	kind string
	err  error
}

func (f *failure) Error() string { return f.err.Error() }

func fail(kind string, format string, args ...any) *failure {
	return &failure{kind, fmt.Errorf(format, args...)}
}

func errorReply(kind, msg string) map[string]any {
	return map[string]any{"ok": false, "error": map[string]string{"kind": kind, "message": msg}}
}

// handle runs one request and returns its reply and whether to quit.
func (p *Peer) handle(line []byte) (any, bool) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&req); err != nil {
		return errorReply(kindBadRequest, "malformed request: "+err.Error()), false
	}
	result, err := p.dispatch(&req)
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			f = &failure{kindOther, err}
		}
		return errorReply(f.kind, f.err.Error()), false
	}
	reply := map[string]any{"ok": true}
	for k, v := range result {
		reply[k] = v
	}
	return reply, req.Op == "quit"
}

func (p *Peer) dispatch(req *request) (map[string]any, error) {
	if req.Op == "quit" {
		return nil, nil
	}
	if req.Op == "init" {
		return p.init(req)
	}
	handlers := map[string]func(*request) (map[string]any, error){
		"bundle":           p.bundle,
		"process_bundle":   p.processBundle,
		"encrypt":          p.encrypt,
		"decrypt":          p.decrypt,
		"session":          p.session,
		"fingerprint":      p.fingerprint,
		"approve_identity": p.approveIdentity,
	}
	if h, ok := handlers[req.Op]; ok {
		if p.local == nil {
			return nil, fail(kindBadRequest, "%s before init", req.Op)
		}
		return h(req)
	}
	return nil, fail(kindBadRequest, "unknown op %q", req.Op)
}

func (p *Peer) init(req *request) (map[string]any, error) {
	if p.local != nil {
		return nil, fail(kindBadRequest, "second init")
	}
	if req.Name == "" || req.DeviceID == nil || req.RegistrationID == nil {
		return nil, fail(kindBadRequest, "init needs name, device_id and registration_id")
	}
	if r := *req.RegistrationID; r < 1 || r > identity.MaxRegistrationID {
		return nil, fail(kindBadRequest, "registration_id %d out of range", r)
	}
	ik, err := identity.GenerateIdentityKeyPair(p.rand)
	if err != nil {
		return nil, err
	}
	addr := session.Address{Name: req.Name, DeviceID: *req.DeviceID}
	store := session.NewMemoryStore(ik, *req.RegistrationID)
	p.local = &device{
		addr:   addr,
		store:  store,
		cipher: &session.Cipher{Store: reloading{store}, Local: addr, Rand: p.rand, Now: p.now, SPQRMinimum: p.SPQRMinimum},
		nextID: 1,
	}
	return map[string]any{"identity_key": ik.Public.Bytes()}, nil
}

func (p *Peer) bundle(req *request) (map[string]any, error) {
	d := p.local
	ik, reg, err := d.store.LocalIdentity()
	if err != nil {
		return nil, err
	}
	id := d.nextID
	d.nextID++
	spk, err := identity.GenerateSignedPreKey(p.rand, ik, id, p.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	d.store.AddSignedPreKey(spk)
	b := bundle{
		RegistrationID:        reg,
		DeviceID:              d.addr.DeviceID,
		IdentityKey:           ik.Public.Bytes(),
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public.Bytes(),
		SignedPreKeySignature: spk.Signature[:],
	}
	if req.OneTimePreKey {
		pks, err := identity.GeneratePreKeys(p.rand, id, 1)
		if err != nil {
			return nil, err
		}
		d.store.AddPreKey(pks[0])
		b.PreKeyID, b.PreKey = &pks[0].ID, pks[0].KeyPair.Public.Bytes()
	}
	if req.Kyber {
		// A one-time Kyber prekey (PEER.md): deleted by its first use.
		kpk, err := kem.GeneratePreKey(p.rand, ik, id, p.now().UnixMilli())
		if err != nil {
			return nil, err
		}
		d.store.AddKyberPreKey(kpk, false)
		b.KyberPreKeyID = &kpk.ID
		b.KyberPreKey = kpk.KeyPair.Public.Bytes()
		b.KyberPreKeySignature = kpk.Signature[:]
	}
	return map[string]any{"bundle": b}, nil
}

func (p *Peer) remote(req *request) (session.Address, error) {
	if req.Remote == nil || req.Remote.Name == "" {
		return session.Address{}, fail(kindBadRequest, "%s needs remote", req.Op)
	}
	return session.Address{Name: req.Remote.Name, DeviceID: req.Remote.DeviceID}, nil
}

func (p *Peer) processBundle(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	if req.Bundle == nil {
		return nil, fail(kindBadRequest, "process_bundle needs bundle")
	}
	b, err := parseBundle(req.Bundle)
	if err != nil {
		return nil, err
	}
	if err := p.local.cipher.ProcessBundle(addr, b); err != nil {
		return nil, classify(err)
	}
	return nil, nil
}

// parseBundle converts a contract bundle, refusing malformed keys.
func parseBundle(jb *bundle) (*x3dh.Bundle, error) {
	b := &x3dh.Bundle{
		RegistrationID: jb.RegistrationID,
		DeviceID:       jb.DeviceID,
		SignedPreKeyID: jb.SignedPreKeyID,
	}
	var err error
	if b.IdentityKey, err = identity.ParsePublicKey(jb.IdentityKey); err != nil {
		return nil, fail(kindInvalidMessage, "bundle identity key: %v", err)
	}
	if b.SignedPreKey, err = identity.ParsePublicKey(jb.SignedPreKey); err != nil {
		return nil, fail(kindInvalidMessage, "bundle signed prekey: %v", err)
	}
	if len(jb.SignedPreKeySignature) != identity.SignatureSize {
		return nil, fail(kindInvalidMessage, "bundle signature has %d bytes", len(jb.SignedPreKeySignature))
	}
	copy(b.SignedPreKeySignature[:], jb.SignedPreKeySignature)
	if (jb.PreKeyID == nil) != (jb.PreKey == nil) {
		return nil, fail(kindBadRequest, "bundle needs both prekey_id and prekey, or neither")
	}
	if jb.PreKey != nil {
		k, err := identity.ParsePublicKey(jb.PreKey)
		if err != nil {
			return nil, fail(kindInvalidMessage, "bundle prekey: %v", err)
		}
		b.PreKey = &x3dh.OneTimePreKey{ID: *jb.PreKeyID, Key: k}
	}
	kyberFields := []bool{jb.KyberPreKeyID != nil, jb.KyberPreKey != nil, jb.KyberPreKeySignature != nil}
	if kyberFields[0] != kyberFields[1] || kyberFields[0] != kyberFields[2] {
		return nil, fail(kindBadRequest, "bundle needs kyber_prekey_id, kyber_prekey and kyber_prekey_signature together, or none")
	}
	if jb.KyberPreKey != nil {
		k, err := kem.ParsePublicKey(jb.KyberPreKey)
		if err != nil {
			return nil, fail(kindInvalidMessage, "bundle kyber prekey: %v", err)
		}
		if len(jb.KyberPreKeySignature) != identity.SignatureSize {
			return nil, fail(kindInvalidMessage, "bundle kyber prekey signature has %d bytes", len(jb.KyberPreKeySignature))
		}
		b.KyberPreKey = &x3dh.KyberPreKey{ID: *jb.KyberPreKeyID, Key: k, Signature: [identity.SignatureSize]byte(jb.KyberPreKeySignature)}
	}
	return b, nil
}

func (p *Peer) encrypt(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	if req.Plaintext == nil {
		return nil, fail(kindBadRequest, "encrypt needs plaintext")
	}
	typ, ct, err := p.local.cipher.Encrypt(addr, *req.Plaintext)
	if err != nil {
		return nil, classify(err)
	}
	return map[string]any{"type": typ, "ciphertext": ct}, nil
}

func (p *Peer) decrypt(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	if req.Ciphertext == nil {
		return nil, fail(kindBadRequest, "decrypt needs ciphertext")
	}
	if req.Type != wire.TypeSignal && req.Type != wire.TypePreKey {
		return nil, fail(kindBadRequest, "unknown message type %d", req.Type)
	}
	pt, err := p.local.cipher.Decrypt(addr, req.Type, *req.Ciphertext)
	if err != nil {
		return nil, classify(err)
	}
	if pt == nil {
		pt = []byte{}
	}
	return map[string]any{"plaintext": pt}, nil
}

func (p *Peer) session(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	v, ok, err := p.local.cipher.SessionVersion(addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return map[string]any{"exists": false}, nil
	}
	return map[string]any{"exists": true, "version": v}, nil
}

func (p *Peer) fingerprint(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	if req.LocalID == nil || req.RemoteID == nil {
		return nil, fail(kindBadRequest, "fingerprint needs local_id and remote_id")
	}
	remoteKey, ok, err := p.local.store.TrustedIdentity(addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail(kindNoSession, "no identity known for %s", addr)
	}
	ik, _, err := p.local.store.LocalIdentity()
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint.NewStandard([]byte(*req.LocalID), ik.Public, []byte(*req.RemoteID), remoteKey)
	if err != nil {
		return nil, err
	}
	return map[string]any{"displayable": fp.Displayable(), "scannable": fp.Scannable()}, nil
}

func (p *Peer) approveIdentity(req *request) (map[string]any, error) {
	addr, err := p.remote(req)
	if err != nil {
		return nil, err
	}
	k, err := identity.ParsePublicKey(req.IdentityKey)
	if err != nil {
		return nil, fail(kindBadRequest, "identity_key: %v", err)
	}
	p.local.store.Approve(addr, k)
	return nil, nil
}

// classify maps session errors to PEER.md kinds.
func classify(err error) error {
	kind := kindOther
	switch {
	case errors.Is(err, session.ErrDuplicate):
		kind = kindDuplicate
	case errors.Is(err, session.ErrUntrustedIdentity):
		kind = kindUntrustedIdentity
	case errors.Is(err, session.ErrInvalidPreKeyID):
		kind = kindInvalidKeyID
	case errors.Is(err, session.ErrNoSession):
		kind = kindNoSession
	case errors.Is(err, session.ErrInvalidMessage), errors.Is(err, session.ErrBadSignature),
		errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrVersion):
		kind = kindInvalidMessage
	}
	return &failure{kind, err}
}
