package referee

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
)

// TestExtrasVectors reads the SPQR data and addresses of messages as
// libsignal 0.103.0 sent them with UUID names, and checks the addresses
// against the names as the referee does for every message.
func TestExtrasVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/extras-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			f := testvec.Read(t, path)
			if f.Expect != "valid" {
				t.Fatalf("expect: %s", f.Expect)
			}
			typ := map[string]int{"2": TypeSignal, "3": TypePreKey}[f.Str(t, "type")]
			ct := Ciphertext{Type: typ, Bytes: f.Hex(t, "message")}
			x, err := readExtras(ct)
			if err != nil {
				t.Fatal(err)
			}
			if !x.hasSPQR || x.spqr.epoch != uint64(atoi(t, f.Str(t, "spqr_epoch"))) ||
				x.spqr.index != uint32(atoi(t, f.Str(t, "spqr_index"))) || x.spqr.typ.String() != f.Str(t, "spqr_type") {
				t.Errorf("SPQR %+v (present %v)", x.spqr, x.hasSPQR)
			}
			var want []byte
			if a := f.Str(t, "addresses"); a != "-" {
				want = testvec.Decode(t, a)
			}
			if !bytes.Equal(x.addresses, want) || (want == nil) != (x.addresses == nil) {
				t.Errorf("addresses %x, want %x", x.addresses, want)
			}
			from, to := Address{f.Str(t, "from"), 1}, Address{f.Str(t, "to"), 1}
			if err := checkAddresses(x.addresses, from, to); err != nil {
				t.Error(err)
			}
			if x.addresses != nil {
				if err := checkAddresses(x.addresses, to, from); err == nil {
					t.Error("addresses accepted for the reverse direction")
				}
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPartyNames(t *testing.T) {
	for plain, uuid := range uuidNames {
		if got := partyName(NamingPlain, plain); got != plain {
			t.Errorf("plain %s: %s", plain, got)
		}
		if got := partyName(NamingUUID, plain); got != uuid {
			t.Errorf("uuid %s: %s", plain, got)
		}
		id, ok := serviceID(uuid)
		if !ok || len(id) != serviceIDSize || id[0] != serviceIDKindACI {
			t.Errorf("%s: service id %x, %v", uuid, id, ok)
		}
		if _, ok := serviceID(plain); ok {
			t.Errorf("%s is a service id", plain)
		}
	}
	for _, o := range []struct {
		opts Options
		want Naming
	}{
		{Options{}, NamingPlain},
		{Options{Mode: ModeV3}, NamingPlain},
		{Options{Mode: ModeV4}, NamingUUID},
		{Options{Mode: ModeV4, Names: NamingPlain}, NamingPlain},
		{Options{Mode: ModeV3, Names: NamingUUID}, NamingUUID},
	} {
		if got := o.opts.naming(); got != o.want {
			t.Errorf("%+v: naming %s, want %s", o.opts, got, o.want)
		}
	}
	for _, bad := range []string{"a11ce000a11c-4000-8000-0000000000011", "g11ce000-a11c-4000-8000-000000000001", "a11ce000-a11c-4000-8000-00000000001"} {
		if _, ok := serviceID(bad); ok {
			t.Errorf("%s is a service id", bad)
		}
	}
}

func TestCheckAddresses(t *testing.T) {
	alice := Address{partyName(NamingUUID, "alice"), 1}
	bob := Address{partyName(NamingUUID, "bob"), 1}
	good, ok := expectAddresses(alice, bob)
	if !ok || len(good) != addressesSize {
		t.Fatalf("expectAddresses: %x, %v", good, ok)
	}
	flipped := bytes.Clone(good)
	flipped[5] ^= 1
	tests := []struct {
		name     string
		got      []byte
		from, to Address
		err      string
	}{
		{"absent", nil, alice, bob, ""},
		{"absent with plain names", nil, Address{"alice", 1}, Address{"bob", 1}, ""},
		{"right", good, alice, bob, ""},
		{"reversed", good, bob, alice, "want"},
		{"other device", good, alice, Address{bob.Name, 2}, "want"},
		{"flipped bit", flipped, alice, bob, "want"},
		{"empty", []byte{}, alice, bob, "want"},
		{"one byte short", good[:addressesSize-1], alice, bob, "want"},
		{"with plain names", good, Address{"alice", 1}, Address{"bob", 1}, "no service ids"},
	}
	for _, tt := range tests {
		err := checkAddresses(tt.got, tt.from, tt.to)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}
