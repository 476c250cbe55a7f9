package referee

import (
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func fakeImpl(t *testing.T, variant string) Impl {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := "fake"
	if variant != fakeHonest {
		name = "fake-" + variant
	}
	// Under -race a process sleeps a second at exit unless told otherwise.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return Impl{Name: name, Argv: []string{exe}, Env: []string{fakePeerEnv + "=" + variant, "GORACE=" + race}}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFingerprintVectors checks the fingerprint computation against
// libsignal's published version-2 vectors (fingerprint.rs tests).
func TestFingerprintVectors(t *testing.T) {
	alice := mustHex(t, "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868")
	bob := mustHex(t, "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b")
	want := expectFingerprint("+14152222222", alice, "+14153333333", bob)
	if got := "300354477692869396892869876765458257569162576843440918079131"; want.displayable != got {
		t.Errorf("displayable %s, want %s", want.displayable, got)
	}
	scannable := mustHex(t, "080212220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d")
	if err := checkFingerprint(Fingerprint{Displayable: want.displayable, Scannable: scannable}, want); err != nil {
		t.Error(err)
	}
}

func TestHonestFakePasses(t *testing.T) {
	t.Parallel()
	fake := fakeImpl(t, fakeHonest)
	results := Run(t.Context(), fake, fake, nil, Options{Seed: DefaultSeed})
	for _, r := range results {
		if r.Outcome != OutcomePass || r.Detail != "" {
			t.Errorf("%s/%s: %s: %s", r.Scenario, r.Direction, r.Outcome, r.Detail)
		}
	}
	if len(results) != 2*len(Scenarios()) {
		t.Errorf("%d results, want %d", len(results), 2*len(Scenarios()))
	}
}

func TestFakeWithoutKyberIsUnsupported(t *testing.T) {
	t.Parallel()
	fake := fakeImpl(t, fakeHonest)
	sc, _ := LookupScenario(ScenarioAlternating)
	for _, r := range Run(t.Context(), fake, fake, []Scenario{sc}, Options{Mode: ModeV4}) {
		if r.Outcome != OutcomeUnsupported {
			t.Errorf("%s: %s: %s, want unsupported", r.Direction, r.Outcome, r.Detail)
		}
	}
}

// TestBrokenFakesFail proves the referee can fail: each broken variant,
// paired with the honest fake, must fail exactly the scenarios that check
// the rule it breaks, with the failure laid at its door.
func TestBrokenFakesFail(t *testing.T) {
	tests := []struct {
		variant string
		fails   []string
		detail  string
	}{
		{fakeAcceptsTampered, []string{ScenarioTamper}, "accepted message with flipped"},
		{fakeWrongDuplicate, []string{ScenarioDuplicate}, "as invalid_message, want duplicate"},
		{fakeReusesPreKeys, []string{ScenarioPreKeyReuse}, "accepted message using an already used one-time prekey"},
		{fakeTrustsAnyone, []string{ScenarioIdentityChange}, "succeeded, want untrusted_identity"},
		{fakeBadFingerprint, []string{ScenarioFingerprint}, "scannable local content"},
		{fakeNoSkippedKeys, []string{ScenarioOutOfOrder, ScenarioLossy, ScenarioDuplicate}, "replied invalid_message: old counter"},
		{fakeHangsOnFinger, []string{ScenarioFingerprint}, "no reply within"},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			t.Parallel()
			broken, honest := fakeImpl(t, tt.variant), fakeImpl(t, fakeHonest)
			results := Run(t.Context(), broken, honest, nil, Options{Seed: DefaultSeed, Timeout: 2 * time.Second})
			failed := map[string]bool{}
			for _, r := range results {
				shouldFail := slices.Contains(tt.fails, r.Scenario)
				switch {
				case !shouldFail && r.Outcome != OutcomePass:
					t.Errorf("%s/%s: %s: %s, want pass", r.Scenario, r.Direction, r.Outcome, r.Detail)
				case r.Outcome != OutcomeFail:
					// The broken side may play its part in one direction only.
				case !strings.Contains(r.Detail, tt.detail):
					t.Errorf("%s/%s: detail %q lacks %q", r.Scenario, r.Direction, r.Detail, tt.detail)
				case !strings.HasPrefix(r.Detail, broken.Name+" "):
					t.Errorf("%s/%s: failure not laid on %s: %s", r.Scenario, r.Direction, broken.Name, r.Detail)
				default:
					failed[r.Scenario] = true
				}
			}
			for _, sc := range tt.fails {
				if !failed[sc] {
					t.Errorf("%s: no direction failed", sc)
				}
			}
		})
	}
}

func TestKnownDefects(t *testing.T) {
	t.Parallel()
	sc, _ := LookupScenario(ScenarioDuplicate)
	broken, honest := fakeImpl(t, fakeWrongDuplicate), fakeImpl(t, fakeHonest)
	defects := []Defect{{Impl: broken.Name, Scenario: ScenarioDuplicate, Role: RoleReceiver,
		Match: "as invalid_message, want duplicate", Evidence: "calls a duplicate invalid_message"}}
	for _, r := range Run(t.Context(), broken, honest, []Scenario{sc}, Options{Defects: defects}) {
		if r.Outcome != OutcomeKnownDefect || !strings.Contains(r.Detail, "calls a duplicate invalid_message") {
			t.Errorf("%s: %s: %s, want known_defect", r.Direction, r.Outcome, r.Detail)
		}
	}
	// An incompatibility is reported as such, unless a defect shows too.
	incompatible := defects[0]
	incompatible.Incompatible, incompatible.Evidence = true, "by design"
	for _, r := range Run(t.Context(), broken, honest, []Scenario{sc}, Options{Defects: []Defect{incompatible}}) {
		if r.Outcome != OutcomeKnownIncompatible || !strings.HasPrefix(r.Detail, "known incompatibility (") {
			t.Errorf("%s: %s: %s, want known_incompatible", r.Direction, r.Outcome, r.Detail)
		}
	}
	res := Result{Scenario: sc.Name}
	classify(&res, errors.Join(
		&Failure{Role: RoleReceiver, Impls: map[Role]string{RoleReceiver: broken.Name}, Err: errors.New("x replied invalid_message, want duplicate")},
		&Failure{Role: RoleReceiver, Impls: map[Role]string{RoleReceiver: broken.Name}, Err: errors.New("y as invalid_message, want duplicate")},
	), []Defect{{Impl: broken.Name, Role: RoleReceiver, Match: "x replied", Incompatible: true}, {Impl: broken.Name, Role: RoleReceiver, Match: "y as"}})
	if res.Outcome != OutcomeKnownDefect {
		t.Errorf("a defect and an incompatibility: %s, want known_defect", res.Outcome)
	}
	// A defect that does not show is reported, but is no failure.
	defects[0].Impl = honest.Name
	for _, r := range Run(t.Context(), honest, honest, []Scenario{sc}, Options{Defects: defects}) {
		if r.Outcome != OutcomePass || !strings.HasPrefix(r.Detail, "known defect did not reproduce") {
			t.Errorf("%s: %s: %q, want pass noting the defect", r.Direction, r.Outcome, r.Detail)
		}
	}
	// A defect of another role does not excuse a failure.
	defects[0].Impl, defects[0].Role = broken.Name, RoleSender
	for _, r := range Run(t.Context(), broken, honest, []Scenario{sc}, Options{Defects: defects}) {
		if r.Outcome != OutcomeFail {
			t.Errorf("%s: %s: %s, want fail", r.Direction, r.Outcome, r.Detail)
		}
	}
}

func TestDeadPeer(t *testing.T) {
	t.Parallel()
	sc, _ := LookupScenario(ScenarioAlternating)
	dead := Impl{Name: "dead", Argv: []string{"sh", "-c", "echo going away >&2; exit 3"}}
	res := RunScenario(t.Context(), sc, Directions(dead, dead)[0], Options{Timeout: 5 * time.Second})
	if res.Outcome != OutcomeFail || !strings.Contains(res.Detail, "exit status 3") || !strings.Contains(res.Detail, "going away") {
		t.Errorf("%s: %s", res.Outcome, res.Detail)
	}
}

func TestGarbageReply(t *testing.T) {
	t.Parallel()
	sc, _ := LookupScenario(ScenarioAlternating)
	garbage := Impl{Name: "garbage", Argv: []string{"sh", "-c", "while read l; do echo 'hello'; done"}}
	res := RunScenario(t.Context(), sc, Directions(garbage, garbage)[0], Options{Timeout: 5 * time.Second})
	if res.Outcome != OutcomeFail || !strings.Contains(res.Detail, "malformed reply") {
		t.Errorf("%s: %s", res.Outcome, res.Detail)
	}
}

func TestMatchDefect(t *testing.T) {
	f := &Failure{Role: RoleReceiver, Err: errors.New("bob (x): decrypt replied invalid_message: bad mac"),
		Impls: map[Role]string{RoleSender: "y", RoleReceiver: "x", RoleInitiator: "y", RoleResponder: "x"}}
	tests := []struct {
		d    Defect
		want bool
	}{
		{Defect{Impl: "x", Role: RoleReceiver, Match: "bad mac"}, true},
		{Defect{Impl: "x", Role: RoleReceiver, Scenario: ScenarioTamper, Match: "bad mac"}, true},
		{Defect{Impl: "x", Role: RoleReceiver, Scenario: ScenarioDuplicate, Match: "bad mac"}, false},
		{Defect{Impl: "x", Role: RoleReceiver, Peer: "y", Match: "bad mac"}, true},
		{Defect{Impl: "x", Role: RoleReceiver, Peer: "z", Match: "bad mac"}, false},
		{Defect{Impl: "x", Role: RoleResponder, Peer: "y", Match: "bad mac"}, true},
		{Defect{Impl: "x", Role: RoleInitiator, Match: "bad mac"}, false},
		{Defect{Impl: "y", Role: RoleSender, Match: "bad mac"}, true},
		{Defect{Impl: "x", Role: RoleReceiver, Match: "duplicate"}, false},
	}
	for _, tt := range tests {
		if _, got := matchDefect(ScenarioTamper, f, []Defect{tt.d}); got != tt.want {
			t.Errorf("%+v: match %v, want %v", tt.d, got, tt.want)
		}
	}
}

// TestFakeSPQRPasses runs every scenario in v4 with the honest SPQR fake,
// which advances its SPQR epochs as libsignal 0.103.0 does, and checks what
// the referee counted: the epochs crossed in the long alternating run, and
// the addresses in each type-3 message under UUID names (none with plain
// names).
func TestFakeSPQRPasses(t *testing.T) {
	t.Parallel()
	fake := fakeImpl(t, fakeSPQR)
	for _, r := range Run(t.Context(), fake, fake, nil, Options{Mode: ModeV4, Seed: DefaultSeed}) {
		if r.Outcome != OutcomePass || r.Detail != "" {
			t.Errorf("%s/%s: %s: %s", r.Scenario, r.Direction, r.Outcome, r.Detail)
		}
		if r.Names != NamingUUID || r.FromInitiator.Addressed != r.FromInitiator.PreKey || r.FromResponder.Addressed != r.FromResponder.PreKey {
			t.Errorf("%s/%s: names %s, initiator sent %s, responder sent %s", r.Scenario, r.Direction, r.Names, r.FromInitiator, r.FromResponder)
		}
		if r.Scenario != ScenarioAlternating {
			continue
		}
		wantEpoch := uint64(1 + (alternatingMessagesV4/2-1)/fakeMessagesPerEpoch)
		if r.Messages != alternatingMessagesV4 || r.FromInitiator.MaxEpoch != wantEpoch || r.FromResponder.MaxEpoch != wantEpoch ||
			r.EpochsCrossed != int(wantEpoch-1) || r.SPQRSummary() != strconv.Itoa(int(wantEpoch-1)) {
			t.Errorf("%s: %d messages, epochs crossed %d (%s), initiator sent %s, responder sent %s, want epoch %d",
				r.Direction, r.Messages, r.EpochsCrossed, r.SPQRSummary(), r.FromInitiator, r.FromResponder, wantEpoch)
		}
		if r.FromInitiator.Addressed != 1 || r.FromResponder.Addressed != 0 {
			t.Errorf("%s: addresses in %d and %d messages, want 1 (the first) and 0", r.Direction, r.FromInitiator.Addressed, r.FromResponder.Addressed)
		}
	}
	sc, _ := LookupScenario(ScenarioAlternating)
	for _, r := range Run(t.Context(), fake, fake, []Scenario{sc}, Options{Mode: ModeV4, Names: NamingPlain}) {
		if r.Outcome != OutcomePass || r.FromInitiator.Addressed+r.FromResponder.Addressed != 0 {
			t.Errorf("plain names, %s: %s, addresses in %d and %d messages", r.Direction, r.Outcome, r.FromInitiator.Addressed, r.FromResponder.Addressed)
		}
	}
}

// TestBrokenSPQRFakesFail pairs each broken SPQR variant with the honest
// one in the alternating scenario: each must fail, laid at its door where
// the wire shows whose fault it is. Wrong addresses show only when the
// broken side initiates: only its type-3 messages carry them.
func TestBrokenSPQRFakesFail(t *testing.T) {
	tests := []struct {
		variant    string
		detail     string
		blamed     bool
		initiating bool // fails only when the broken side initiates
	}{
		{fakeSlowSPQR, "SPQR crossed 11 epochs in 2400 messages, want at least 20", false, false},
		{fakeBadSPQR, "malformed SPQR message: version 0x02", true, false},
		{fakeBadAddresses, "carries addresses", true, true},
	}
	sc, _ := LookupScenario(ScenarioAlternating)
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			t.Parallel()
			broken, honest := fakeImpl(t, tt.variant), fakeImpl(t, fakeSPQR)
			for _, r := range Run(t.Context(), broken, honest, []Scenario{sc}, Options{Mode: ModeV4, Seed: DefaultSeed}) {
				switch {
				case tt.initiating && r.Initiator == honest.Name:
					if r.Outcome != OutcomePass {
						t.Errorf("%s: %s: %s, want pass", r.Direction, r.Outcome, r.Detail)
					}
				case r.Outcome != OutcomeFail:
					t.Errorf("%s: %s: %s, want fail", r.Direction, r.Outcome, r.Detail)
				case !strings.Contains(r.Detail, tt.detail):
					t.Errorf("%s: detail %q lacks %q", r.Direction, r.Detail, tt.detail)
				case tt.blamed && !strings.HasPrefix(r.Detail, broken.Name+" sender: "):
					t.Errorf("%s: failure not laid on %s: %s", r.Direction, broken.Name, r.Detail)
				}
			}
		})
	}
}
