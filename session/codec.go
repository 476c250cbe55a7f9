package session

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/proto/sessionpb"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/x3dh"
)

// recordSchemaVersion is the version of proto/session.proto written by
// MarshalRecord. UnmarshalRecord accepts exactly this version: an older
// one does not exist yet, and a newer one is refused rather than guessed.
const recordSchemaVersion = 1

// ErrCorruptRecord is wrapped by every UnmarshalRecord error.
var ErrCorruptRecord = errors.New("session: corrupt record")

// MarshalRecord serializes a record to blindpost's session schema.
func MarshalRecord(r Record) ([]byte, error) {
	pb := &sessionpb.SessionRecord{SchemaVersion: recordSchemaVersion}
	if r.Current != nil {
		cur, err := stateToPB(r.Current)
		if err != nil {
			return nil, err
		}
		pb.Current = cur
	}
	for i := range r.Previous {
		prev, err := stateToPB(&r.Previous[i])
		if err != nil {
			return nil, err
		}
		pb.Previous = append(pb.Previous, prev)
	}
	b, err := proto.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("session: marshal record: %w", err)
	}
	return b, nil
}

// UnmarshalRecord parses a record strictly: every key of its exact length,
// every limit respected, a known schema version.
func UnmarshalRecord(b []byte) (Record, error) {
	var pb sessionpb.SessionRecord
	if err := proto.Unmarshal(b, &pb); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
	}
	if pb.SchemaVersion != recordSchemaVersion {
		return Record{}, fmt.Errorf("%w: schema version %d (want %d)", ErrCorruptRecord, pb.SchemaVersion, recordSchemaVersion)
	}
	if len(pb.Previous) > MaxArchivedStates {
		return Record{}, fmt.Errorf("%w: %d archived states", ErrCorruptRecord, len(pb.Previous))
	}
	var r Record
	if pb.Current != nil {
		s, err := stateFromPB(pb.Current)
		if err != nil {
			return Record{}, fmt.Errorf("%w: current: %w", ErrCorruptRecord, err)
		}
		r.Current = &s
	}
	for i, p := range pb.Previous {
		s, err := stateFromPB(p)
		if err != nil {
			return Record{}, fmt.Errorf("%w: archived state %d: %w", ErrCorruptRecord, i, err)
		}
		r.Previous = append(r.Previous, s)
	}
	return r, nil
}

func stateToPB(s *State) (*sessionpb.SessionState, error) {
	rs := &s.Ratchet
	pq, err := rs.PQ.Marshal()
	if err != nil {
		return nil, fmt.Errorf("session: marshal record: %w", err)
	}
	pb := &sessionpb.SessionState{
		Spqr:            pq,
		SessionVersion:  uint32(rs.Version),
		LocalIdentity:   rs.LocalIdentity[:],
		RemoteIdentity:  rs.RemoteIdentity[:],
		RootKey:         rs.Root[:],
		PreviousCounter: rs.PreviousCounter,
		Sender: &sessionpb.SenderChain{
			RatchetPublic:  rs.Sender.RatchetKey.Public[:],
			RatchetPrivate: rs.Sender.RatchetKey.Private[:],
			ChainKey:       rs.Sender.Chain.Key[:],
			Index:          rs.Sender.Chain.Index,
		},
		BaseKey:              s.BaseKey[:],
		LocalRegistrationId:  s.LocalRegistrationID,
		RemoteRegistrationId: s.RemoteRegistrationID,
	}
	for _, rc := range rs.Receivers {
		c := &sessionpb.ReceiverChain{RatchetPublic: rc.RatchetKey[:], ChainKey: rc.Chain.Key[:], Index: rc.Chain.Index}
		for _, k := range rc.Skipped {
			c.Skipped = append(c.Skipped, &sessionpb.SkippedKey{Index: k.Index, Seed: k.Seed[:]})
		}
		pb.Receivers = append(pb.Receivers, c)
	}
	if p := s.Pending; p != nil {
		pb.Pending = &sessionpb.PendingPreKey{
			HasPreKeyId:       p.HasPreKeyID,
			PreKeyId:          p.PreKeyID,
			SignedPreKeyId:    p.SignedPreKeyID,
			BaseKey:           p.BaseKey[:],
			CreatedUnixMillis: p.CreatedMillis,
			HasKyber:          p.HasKyber,
			KyberPreKeyId:     p.KyberPreKeyID,
			KyberCiphertext:   p.KyberCiphertext,
		}
	}
	return pb, nil
}

func stateFromPB(pb *sessionpb.SessionState) (State, error) {
	var s State
	rs := &s.Ratchet
	if v := pb.SessionVersion; v != x3dh.SessionVersion && v != x3dh.SessionVersionPQXDH {
		return s, fmt.Errorf("session version %d", v)
	}
	rs.Version = int(pb.SessionVersion)
	if pb.Sender == nil {
		return s, errors.New("no sending chain")
	}
	err := errors.Join(
		copyExact(rs.LocalIdentity[:], pb.LocalIdentity, "local identity"),
		copyExact(rs.RemoteIdentity[:], pb.RemoteIdentity, "remote identity"),
		copyExact(rs.Root[:], pb.RootKey, "root key"),
		copyExact(rs.Sender.RatchetKey.Public[:], pb.Sender.RatchetPublic, "sender ratchet public key"),
		copyExact(rs.Sender.RatchetKey.Private[:], pb.Sender.RatchetPrivate, "sender ratchet private key"),
		copyExact(rs.Sender.Chain.Key[:], pb.Sender.ChainKey, "sender chain key"),
		copyExact(s.BaseKey[:], pb.BaseKey, "base key"),
	)
	if err != nil {
		return s, err
	}
	if derived, err := identity.NewKeyPair(rs.Sender.RatchetKey.Private); err != nil || derived.Public != rs.Sender.RatchetKey.Public {
		return s, errors.New("sender ratchet key pair does not match")
	}
	rs.Sender.Chain.Index = pb.Sender.Index
	rs.PreviousCounter = pb.PreviousCounter
	if len(pb.Receivers) > ratchet.MaxReceiverChains {
		return s, fmt.Errorf("%d receiver chains", len(pb.Receivers))
	}
	for i, c := range pb.Receivers {
		rc, err := receiverFromPB(c)
		if err != nil {
			return s, fmt.Errorf("receiver chain %d: %w", i, err)
		}
		for _, other := range rs.Receivers {
			if other.RatchetKey == rc.RatchetKey {
				return s, fmt.Errorf("receiver chain %d repeats a ratchet key", i)
			}
		}
		rs.Receivers = append(rs.Receivers, rc)
	}
	if rs.PQ, err = spqr.Unmarshal(pb.Spqr); err != nil {
		return s, err
	}
	if rs.Version < x3dh.SessionVersionPQXDH && rs.PQ.Enabled() {
		return s, fmt.Errorf("SPQR state in a version %d session", rs.Version)
	}
	s.LocalRegistrationID = pb.LocalRegistrationId
	s.RemoteRegistrationID = pb.RemoteRegistrationId
	if p := pb.Pending; p != nil {
		s.Pending = &PendingPreKey{
			HasPreKeyID:     p.HasPreKeyId,
			PreKeyID:        p.PreKeyId,
			SignedPreKeyID:  p.SignedPreKeyId,
			CreatedMillis:   p.CreatedUnixMillis,
			HasKyber:        p.HasKyber,
			KyberPreKeyID:   p.KyberPreKeyId,
			KyberCiphertext: p.KyberCiphertext,
		}
		if err := copyExact(s.Pending.BaseKey[:], p.BaseKey, "pending base key"); err != nil {
			return s, err
		}
		if s.Pending.BaseKey != s.BaseKey {
			return s, errors.New("pending base key differs from the session's base key")
		}
		if s.Pending.HasKyber != (rs.Version >= x3dh.SessionVersionPQXDH) {
			return s, fmt.Errorf("pending prekey with kyber %t in a version %d session", s.Pending.HasKyber, rs.Version)
		}
		if err := checkPendingKyber(s.Pending); err != nil {
			return s, err
		}
	}
	return s, nil
}

// checkPendingKyber: a version-4 pending prekey holds a well-formed Kyber
// ciphertext, as sent (0x08 and 1568 bytes); a version-3 one holds none.
func checkPendingKyber(p *PendingPreKey) error {
	if !p.HasKyber {
		if len(p.KyberCiphertext) != 0 || p.KyberPreKeyID != 0 {
			return errors.New("pending prekey without kyber holds kyber fields")
		}
		return nil
	}
	if _, err := kem.ParseCiphertext(p.KyberCiphertext); err != nil {
		return fmt.Errorf("pending kyber ciphertext: %w", err)
	}
	return nil
}

func receiverFromPB(c *sessionpb.ReceiverChain) (ratchet.ReceiverChain, error) {
	var rc ratchet.ReceiverChain
	if err := errors.Join(
		copyExact(rc.RatchetKey[:], c.RatchetPublic, "ratchet key"),
		copyExact(rc.Chain.Key[:], c.ChainKey, "chain key"),
	); err != nil {
		return rc, err
	}
	rc.Chain.Index = c.Index
	if len(c.Skipped) > ratchet.MaxSkippedKeys {
		return rc, fmt.Errorf("%d skipped keys", len(c.Skipped))
	}
	for _, k := range c.Skipped {
		sk := ratchet.SkippedKey{Index: k.Index}
		if err := copyExact(sk.Seed[:], k.Seed, "skipped key"); err != nil {
			return rc, err
		}
		if sk.Index >= rc.Chain.Index {
			return rc, fmt.Errorf("skipped key %d not behind the chain (%d)", sk.Index, rc.Chain.Index)
		}
		// The ratchet stores skipped keys oldest first, one per index: a
		// repeated index would let a message decrypt twice.
		if n := len(rc.Skipped); n > 0 && sk.Index <= rc.Skipped[n-1].Index {
			return rc, fmt.Errorf("skipped key %d out of order after %d", sk.Index, rc.Skipped[n-1].Index)
		}
		rc.Skipped = append(rc.Skipped, sk)
	}
	return rc, nil
}

func copyExact(dst, src []byte, what string) error {
	if len(src) != len(dst) {
		return fmt.Errorf("%s has %d bytes, want %d", what, len(src), len(dst))
	}
	copy(dst, src)
	return nil
}
