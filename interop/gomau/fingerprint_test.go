package main

import (
	"encoding/hex"
	"testing"

	"go.mau.fi/libsignal/serialize"
	"google.golang.org/protobuf/proto"
)

// Published libsignal test vectors (testVectorsVersion2 in its Java and Rust fingerprint tests).
const (
	vectorAliceIdentity = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
	vectorBobIdentity   = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
	vectorAliceID       = "+14152222222"
	vectorBobID         = "+14153333333"
	vectorDisplayable   = "300354477692869396892869876765458257569162576843440918079131"
	vectorAliceScan     = "080212220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df" +
		"1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
	vectorBobScan = "080212220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d" +
		"1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df"
)

func TestSafetyNumberVectors(t *testing.T) {
	aliceKey, _ := hex.DecodeString(vectorAliceIdentity)
	bobKey, _ := hex.DecodeString(vectorBobIdentity)
	for _, c := range []struct {
		name                       string
		localID, remoteID          string
		localKey, remoteKey        []byte
		wantDisplay, wantScannable string
	}{
		{"alice", vectorAliceID, vectorBobID, aliceKey, bobKey, vectorDisplayable, vectorAliceScan},
		{"bob", vectorBobID, vectorAliceID, bobKey, aliceKey, vectorDisplayable, vectorBobScan},
	} {
		display, scan, err := safetyNumber([]byte(c.localID), c.localKey, []byte(c.remoteID), c.remoteKey)
		if err != nil {
			t.Fatal(err)
		}
		if display != c.wantDisplay {
			t.Errorf("%s displayable = %s, want %s", c.name, display, c.wantDisplay)
		}
		if got := hex.EncodeToString(scan); got != c.wantScannable {
			t.Errorf("%s scannable = %s, want %s", c.name, got, c.wantScannable)
		}
	}
}

// TestFingerprintOp checks both sides of a conversation compute the same displayable safety number
// and mirrored scannable forms.
func TestFingerprintOp(t *testing.T) {
	alice, bob := newTestPeer(t, "alice"), newTestPeer(t, "bob")
	alice.startSession(bob, true)
	bob.mustDecrypt(alice, alice.encrypt(bob, []byte("hi")), []byte("hi"))

	a := alice.ok(obj{"op": "fingerprint", "local_id": "alice", "remote_id": "bob", "remote": bob.addr()})
	b := bob.ok(obj{"op": "fingerprint", "local_id": "bob", "remote_id": "alice", "remote": alice.addr()})
	display, _ := a["displayable"].(string)
	if len(display) != 60 || display != b["displayable"] {
		t.Fatalf("displayable: alice %v, bob %v", a["displayable"], b["displayable"])
	}
	for _, r := range display {
		if r < '0' || r > '9' {
			t.Fatalf("displayable %q is not digits", display)
		}
	}

	var fa, fb serialize.CombinedFingerprints
	if err := proto.Unmarshal(bytesField(t, a, "scannable"), &fa); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(bytesField(t, b, "scannable"), &fb); err != nil {
		t.Fatal(err)
	}
	if fa.GetVersion() != 2 || fb.GetVersion() != 2 || len(fa.GetLocalFingerprint().GetContent()) != 32 ||
		!proto.Equal(fa.GetLocalFingerprint(), fb.GetRemoteFingerprint()) ||
		!proto.Equal(fa.GetRemoteFingerprint(), fb.GetLocalFingerprint()) {
		t.Fatalf("scannable forms do not mirror each other: %v / %v", &fa, &fb)
	}

	// Different stable ids give a different number.
	c := alice.ok(obj{"op": "fingerprint", "local_id": "alice2", "remote_id": "bob", "remote": bob.addr()})
	if c["displayable"] == display {
		t.Fatal("displayable does not depend on the local id")
	}
}
