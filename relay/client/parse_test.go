package client

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
)

func TestSecretRedacted(t *testing.T) {
	s := Secret{0xde, 0xad, 0xbe, 0xef}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %x %X %s %q %d", s, s, s, s, s, s, s, s), fmt.Sprintf("%v", &s),
	} {
		if strings.Contains(strings.ToLower(out), "dead") || strings.Contains(out, "222") {
			t.Errorf("secret leaked: %s", out)
		}
	}
}

// FuzzParseBundle feeds arbitrary bytes, as a hostile relay could send
// them, to the bundle parser: it must never panic, and what it accepts
// must carry signatures that verify.
func FuzzParseBundle(f *testing.F) {
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	spk, err := identity.GenerateSignedPreKey(rand.Reader, ik, 1, 0)
	if err != nil {
		f.Fatal(err)
	}
	good, err := proto.Marshal(&relaypb.Bundle{Name: "bob", IdentityKey: ik.Public.Bytes(), Devices: []*relaypb.DeviceBundle{{
		DeviceId: 1, RegistrationId: 5,
		SignedPreKey: &relaypb.SignedPreKey{Id: 1, PublicKey: spk.KeyPair.Public.Bytes(), Signature: spk.Signature[:]},
		PreKey:       &relaypb.PreKey{Id: 3, PublicKey: spk.KeyPair.Public.Bytes()},
	}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x12, 0x21, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pb relaypb.Bundle
		if proto.Unmarshal(b, &pb) != nil {
			return
		}
		bundle, err := parseBundle(&pb)
		if err != nil {
			return
		}
		for _, d := range bundle.Devices {
			if !identity.Verify(bundle.IdentityKey, d.SignedPreKey.PublicKey.Bytes(), d.SignedPreKey.Signature[:]) {
				t.Fatal("accepted a signed prekey whose signature does not verify")
			}
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	good, err := proto.Marshal(&relaypb.Envelope{Id: 1, Kind: relaypb.EnvelopeKind_ENVELOPE_KIND_MESSAGE, Sender: "a", Content: []byte("x")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x10, 0x02, 0x52, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pe relaypb.Envelope
		if proto.Unmarshal(b, &pe) != nil {
			return
		}
		e, err := parseEnvelope(&pe)
		if err != nil {
			return
		}
		if e.Kind != KindMessage && e.Kind != KindIdentityChange {
			t.Fatalf("accepted kind %d", e.Kind)
		}
	})
}
