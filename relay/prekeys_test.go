package relay_test

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
)

// TestConcurrentBundleFetches has many requesters fetch one target's
// bundle at once, more often than there are one-time prekeys: each
// one-time key (EC and Kyber) must be handed out exactly once, and the
// fetches beyond them get no EC key and the Kyber last-resort key.
func TestConcurrentBundleFetches(t *testing.T) {
	tr := startRelay(t)
	target := newAccount(t, "target")
	tc := register(t, tr.url, target)
	const keys = 100
	uploadKeys(t, tc, target, keys)

	const requesters, fetchesEach = 30, 5 // 150 fetches for 100 keys
	type result struct {
		ec, kem    uint32
		hasEC      bool
		lastResort bool
	}
	results := make(chan result, requesters*fetchesEach)
	var wg sync.WaitGroup
	for range requesters {
		c := register(t, tr.url, newAccount(t, "req"))
		for range fetchesEach {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := c.FetchBundle(ctxT(t), target.name, 1)
				if err != nil {
					t.Error(err)
					return
				}
				d := b.Devices[0]
				r := result{lastResort: d.KEMLastResort, kem: d.KEMPreKey.ID}
				if d.PreKey != nil {
					r.ec, r.hasEC = d.PreKey.ID, true
				}
				results <- r
			}()
		}
	}
	wg.Wait()
	close(results)

	ecSeen, kemSeen := map[uint32]int{}, map[uint32]int{}
	withEC, lastResort := 0, 0
	for r := range results {
		if r.hasEC {
			ecSeen[r.ec]++
			withEC++
		}
		if r.lastResort {
			lastResort++
		} else {
			kemSeen[r.kem]++
		}
	}
	for id, n := range ecSeen {
		if n != 1 {
			t.Errorf("one-time prekey %d handed out %d times", id, n)
		}
	}
	for id, n := range kemSeen {
		if n != 1 {
			t.Errorf("Kyber one-time prekey %d handed out %d times", id, n)
		}
	}
	if withEC != keys || len(ecSeen) != keys || len(kemSeen) != keys {
		t.Errorf("handed out %d EC (%d distinct), %d Kyber; want %d each", withEC, len(ecSeen), len(kemSeen), keys)
	}
	if lastResort != requesters*fetchesEach-keys {
		t.Errorf("last-resort fallbacks = %d, want %d", lastResort, requesters*fetchesEach-keys)
	}
	n, err := tc.CountPreKeys(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if n.PreKeys != 0 || n.KEMPreKeys != 0 || !n.SignedPreKey || !n.KEMLastResort {
		t.Errorf("counts after draining: %+v", n)
	}
}

func TestBundleRateLimit(t *testing.T) {
	tr := startRelay(t)
	target, other := newAccount(t, "target"), newAccount(t, "other")
	uploadKeys(t, register(t, tr.url, target), target, 20)
	uploadKeys(t, register(t, tr.url, other), other, 20)
	c := register(t, tr.url, newAccount(t, "req"))
	for i := range 6 {
		if _, err := c.FetchBundle(ctxT(t), target.name, 0); err != nil {
			t.Fatalf("fetch %d: %v", i+1, err)
		}
	}
	if _, err := c.FetchBundle(ctxT(t), target.name, 0); !errors.Is(err, client.ErrRateLimited) {
		t.Fatalf("seventh fetch within the window: err = %v", err)
	}
	// The limit is per (requester, target): another target is unaffected.
	if _, err := c.FetchBundle(ctxT(t), other.name, 0); err != nil {
		t.Fatalf("other target: %v", err)
	}
	tr.clock.Advance(relay.DefaultLimits().BundleWindow)
	if _, err := c.FetchBundle(ctxT(t), target.name, 0); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestPreKeyUploadChecks(t *testing.T) {
	tr := startRelay(t)
	alice := newAccount(t, "alice")
	a := register(t, tr.url, alice)
	mallory := newAccount(t, "mallory")

	tooMany := makeUpload(t, alice, 101, 1)
	forged := makeUpload(t, alice, 1, 1)
	forged.SignedPreKey.Signature[0] ^= 1
	foreignKEM := makeUpload(t, alice, 1, 1)
	foreignKEM.KEMPreKeys[0] = kemKey(t, mallory, 1)
	shortKEM := makeUpload(t, alice, 1, 1)
	shortKEM.KEMLastResort.PublicKey = shortKEM.KEMLastResort.PublicKey[:100]
	duplicate := makeUpload(t, alice, 2, 1)
	duplicate.PreKeys[1].ID = duplicate.PreKeys[0].ID
	for name, u := range map[string]client.PreKeyUpload{
		"101 prekeys": tooMany, "forged signed prekey": forged, "Kyber key signed by another": foreignKEM,
		"short Kyber key": shortKEM, "duplicate ids": duplicate,
	} {
		if err := a.UploadPreKeys(ctxT(t), u); !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n, _ := a.CountPreKeys(ctxT(t)); n != (client.PreKeyCounts{}) {
		t.Fatalf("refused uploads stored keys: %+v", n)
	}

	uploadKeys(t, a, alice, 100)
	// A second upload of one-time keys replaces the first.
	pks, err := identity.GeneratePreKeys(rand.Reader, 500, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.UploadPreKeys(ctxT(t), client.PreKeyUpload{PreKeys: client.PublicPreKeys(pks)}); err != nil {
		t.Fatal(err)
	}
	n, err := a.CountPreKeys(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if n.PreKeys != 10 || n.KEMPreKeys != 100 || !n.SignedPreKey || !n.KEMLastResort {
		t.Fatalf("counts = %+v", n)
	}
	b := register(t, tr.url, newAccount(t, "bob"))
	bundle, err := b.FetchBundle(ctxT(t), alice.name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if id := bundle.Devices[0].PreKey.ID; id < 500 || id >= 510 {
		t.Fatalf("handed out prekey %d from the replaced upload", id)
	}
}

func TestBundleNotFound(t *testing.T) {
	tr := startRelay(t)
	alice := newAccount(t, "alice")
	register(t, tr.url, alice).Close()
	c := register(t, tr.url, newAccount(t, "bob"))
	if _, err := c.FetchBundle(ctxT(t), "nobody", 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	// Alice has no signed prekey yet: nothing to hand out.
	if _, err := c.FetchBundle(ctxT(t), alice.name, 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("account without keys: %v", err)
	}
}
