package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
)

func openTest(t *testing.T, opts Options) (*Bolt, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func testKey(t *testing.T) identity.PublicKey {
	t.Helper()
	kp, err := identity.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public
}

func mustRegister(t *testing.T, s *Bolt, name string, device uint32) identity.PublicKey {
	t.Helper()
	key := testKey(t)
	if _, err := s.Register(context.Background(), Registration{
		Name: name, IdentityKey: key, Device: device, RegistrationID: 1, Time: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestGroupCommit checks that concurrent writes share commits, and that a
// refused op in a batch does not abort the others.
func TestGroupCommit(t *testing.T) {
	s, _ := openTest(t, Options{QueueCap: 150})
	mustRegister(t, s, "bob", 1)
	const writers = 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Enqueue(context.Background(), Envelope{
				Kind: KindMessage, Sender: Address{"alice", 1}, Recipient: Address{"bob", 1},
				Type: 2, Content: fmt.Appendf(nil, "m%d", i), ServerTime: time.Now(),
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	stored, full := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			stored++
		case errors.Is(err, ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
	}
	if stored != 150 || full != 50 {
		t.Fatalf("stored %d, refused %d; want 150 and 50", stored, full)
	}
	st := s.Stats()
	if st.Retries != 0 {
		t.Errorf("refusals caused %d retries", st.Retries)
	}
	if st.Commits >= st.Ops {
		t.Errorf("%d ops in %d commits: no batching", st.Ops, st.Commits)
	}
	t.Logf("%d ops in %d commits", st.Ops, st.Commits)
	envs, err := s.Pending(context.Background(), Address{"bob", 1}, 0, 0, time.Time{})
	if err != nil || len(envs) != 150 {
		t.Fatalf("pending: %d, %v", len(envs), err)
	}
	for i, e := range envs {
		if e.ID != uint64(i+1) {
			t.Fatalf("ids not dense: %d at %d", e.ID, i)
		}
	}
}

// TestBatchCaps checks that a batch stops at maxBatchOps operations and at
// the op that brings its content to maxBatchBytes.
func TestBatchCaps(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustRegister(t, s, "bob", 1)
	for _, tc := range []struct {
		name        string
		ops, size   int
		wantBatches uint64
	}{
		{"ops", maxBatchOps + 10, 1, 2},
		{"bytes", 20, 1 << 20, 3}, // 8 MiB, 8 MiB, 4 MiB
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Hold the committer in a first op while the others queue up.
			release, held := make(chan struct{}), make(chan struct{})
			blocker := make(chan error, 1)
			go func() {
				blocker <- s.update(context.Background(), func(*bolt.Tx) error {
					close(held)
					<-release
					return nil
				})
			}()
			<-held
			before := s.Stats()
			var wg sync.WaitGroup
			errs := make(chan error, tc.ops)
			for range tc.ops {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Enqueue(context.Background(), Envelope{
						Kind: KindMessage, Sender: Address{"alice", 1}, Recipient: Address{"bob", 1},
						Content: make([]byte, tc.size), ServerTime: time.Now(),
					})
					errs <- err
				}()
			}
			for len(s.ops) < tc.ops {
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := <-blocker; err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			if got := st.Commits - before.Commits - 1; got != tc.wantBatches {
				t.Fatalf("%d ops of %d bytes in %d batches, want %d", tc.ops, tc.size, got, tc.wantBatches)
			}
		})
	}
}

func TestAckAndCount(t *testing.T) {
	s, _ := openTest(t, Options{QueueCap: 2})
	mustRegister(t, s, "bob", 1)
	bob := Address{"bob", 1}
	send := func() error {
		_, err := s.Enqueue(context.Background(), Envelope{Kind: KindMessage, Sender: Address{"a", 1}, Recipient: bob, Content: []byte("x"), ServerTime: time.Now()})
		return err
	}
	for range 2 {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third: %v", err)
	}
	if err := s.Ack(context.Background(), bob, []uint64{1, 1, 99}); err != nil {
		t.Fatal(err)
	}
	if err := send(); err != nil {
		t.Fatalf("after an ack frees a place: %v", err)
	}
	envs, _ := s.Pending(context.Background(), bob, 0, 0, time.Time{})
	if len(envs) != 2 || envs[0].ID != 2 || envs[1].ID != 3 {
		t.Fatalf("queue = %+v", envs)
	}
}

func TestReadOnly(t *testing.T) {
	s, dir := openTest(t, Options{})
	mustRegister(t, s, "alice", 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Account(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Enqueue(context.Background(), Envelope{Recipient: Address{"alice", 1}}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write to a read-only store: %v", err)
	}
	names, err := ro.Accounts(context.Background())
	if err != nil || len(names) != 1 {
		t.Fatalf("accounts: %v %v", names, err)
	}
	if _, err := OpenReadOnly(t.TempDir(), Options{}); err == nil {
		t.Fatal("opened a missing database")
	}
}

// TestTakeBundleExactlyOnce races takers on the store directly.
func TestTakeBundleExactlyOnce(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustRegister(t, s, "bob", 1)
	up := PreKeyUpload{Signed: &SignedPreKey{ID: 1, Key: testKey(t)}}
	for i := range 50 {
		up.PreKeys = append(up.PreKeys, PreKey{ID: uint32(i + 1), Key: testKey(t)})
	}
	if err := s.UploadPreKeys(context.Background(), Address{"bob", 1}, up); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[uint32]int{}
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := s.TakeBundle(context.Background(), fmt.Sprintf("r%d", i), "bob", 0)
			if err != nil {
				t.Error(err)
				return
			}
			if pk := b.Devices[0].PreKey; pk != nil {
				mu.Lock()
				seen[pk.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 50 {
		t.Errorf("%d distinct keys handed out, want 50", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("key %d handed out %d times", id, n)
		}
	}
}

func TestIdentityChangeDropsDevicesAndNotifies(t *testing.T) {
	s, _ := openTest(t, Options{})
	old := mustRegister(t, s, "alice", 1)
	if _, err := s.Register(context.Background(), Registration{Name: "alice", IdentityKey: old, Device: 2, RegistrationID: 2, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, "bob", 1)
	if _, err := s.Enqueue(context.Background(), Envelope{Kind: KindMessage, Sender: Address{"bob", 1}, Recipient: Address{"alice", 2}, Content: []byte("x"), ServerTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	newKey := testKey(t)
	r := Registration{Name: "alice", IdentityKey: newKey, Device: 1, RegistrationID: 3, Time: time.Now()}
	if _, err := s.Register(context.Background(), r); !errors.Is(err, ErrIdentityMismatch) {
		t.Fatalf("change without Change: %v", err)
	}
	r.Change, r.Previous = true, testKey(t)
	if _, err := s.Register(context.Background(), r); !errors.Is(err, ErrIdentityMismatch) {
		t.Fatalf("change against a stale key: %v", err)
	}
	r.Previous = old
	res, err := s.Register(context.Background(), r)
	if err != nil || !res.IdentityChanged || len(res.Notified) != 1 || res.Notified[0] != (Address{"bob", 1}) {
		t.Fatalf("change: %+v %v", res, err)
	}
	acc, err := s.Account(context.Background(), "alice")
	if err != nil || len(acc.Devices) != 1 || !acc.IdentityKey.Equal(newKey) {
		t.Fatalf("account after change: %+v %v", acc, err)
	}
	envs, _ := s.Pending(context.Background(), Address{"bob", 1}, 0, 0, time.Time{})
	if len(envs) != 1 || envs[0].Kind != KindIdentityChange || !envs[0].IdentityKey.Equal(newKey) {
		t.Fatalf("bob's notices: %+v", envs)
	}
	changes, err := s.IdentityChanges(context.Background(), "alice")
	if err != nil || len(changes) != 1 || !changes[0].Old.Equal(old) {
		t.Fatalf("changes: %+v %v", changes, err)
	}
	gone, _ := s.Pending(context.Background(), Address{"alice", 2}, 0, 0, time.Time{})
	if len(gone) != 0 {
		t.Fatal("queue of a removed device survived")
	}
}

func TestWalkRejectsUnknownBuckets(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustRegister(t, s, "alice", 1)
	n := 0
	if err := s.Walk(func(Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3 { // meta, account, device
		t.Fatalf("walked %d records, want 3", n)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("stray"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Walk(func(Record) error { return nil }); err == nil {
		t.Fatal("Walk accepted a bucket outside the schema")
	}
}

func TestDecodeKeyRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		layout KeyLayout
		key    []byte
	}{
		{KeyName, []byte("a\x00b")},
		{KeyDevice, []byte("a\x00\x00\x01")},
		{KeyDevicePre, deviceKey(Address{"a", 1})},
		{KeyDeviceSeq, append(deviceKey(Address{"a", 1}), 1, 2, 3)},
		{KeyPeer, []byte("a\x00")},
		{KeyNameSeq, []byte("a")},
		{KeyConstant, []byte("other")},
	} {
		if _, err := decodeKey(tc.layout, tc.key); err == nil {
			t.Errorf("layout %d accepted %q", tc.layout, tc.key)
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add(uint8(KeyDeviceSeq), deviceSeqKey(Address{"bob", 1}, 7))
	f.Add(uint8(KeyPeer), peerKey("a", "b"))
	f.Fuzz(func(t *testing.T, layout uint8, key []byte) {
		l := KeyLayout(layout % uint8(KeyNameSeq+1))
		k, err := decodeKey(l, key)
		if err != nil {
			return
		}
		// What decodes must re-encode to the same bytes.
		var again []byte
		switch l {
		case KeyConstant:
			again = []byte(keyMeta)
		case KeyName:
			again = nameKey(k.Name)
		case KeyDevice:
			again = deviceKey(Address{k.Name, k.Device})
		case KeyDevicePre:
			again = devicePreKey(Address{k.Name, k.Device}, uint32(k.ID))
		case KeyDeviceSeq:
			again = deviceSeqKey(Address{k.Name, k.Device}, k.ID)
		case KeyPeer:
			again = peerKey(k.Name, k.Peer)
		case KeyNameSeq:
			again = nameSeqKey(k.Name, k.ID)
		}
		if string(again) != string(key) {
			t.Fatalf("layout %d: %x decodes to %+v, which encodes to %x", l, key, k, again)
		}
	})
}

// TestKEMPreKeysListsWhatIsHeld: the one-time Kyber prekeys not handed out
// yet, then the last-resort one, each with its key and signature.
func TestKEMPreKeysListsWhatIsHeld(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	mustRegister(t, s, "bob", 1)
	addr := Address{"bob", 1}
	kemKey := func(id uint32) KEMPreKey {
		k := KEMPreKey{ID: id, Key: make([]byte, 1569)}
		rand.Read(k.Key)
		rand.Read(k.Signature[:])
		return k
	}
	last := kemKey(9)
	up := PreKeyUpload{Signed: &SignedPreKey{ID: 1, Key: testKey(t)}, KEMLastResort: &last,
		KEMPreKeys: []KEMPreKey{kemKey(1), kemKey(2), kemKey(3)}}
	if err := s.UploadPreKeys(ctx, addr, up); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeBundle(ctx, "alice", "bob", 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.KEMPreKeys(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	want := []KEMPreKey{up.KEMPreKeys[1], up.KEMPreKeys[2], last}
	if len(got) != len(want) {
		t.Fatalf("%d KEM prekeys listed, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || string(got[i].Key) != string(want[i].Key) || got[i].Signature != want[i].Signature {
			t.Errorf("KEM prekey %d: id %d, want %d (or key or signature differ)", i, got[i].ID, want[i].ID)
		}
	}
	if none, err := s.KEMPreKeys(ctx, Address{"carol", 1}); err != nil || len(none) != 0 {
		t.Fatalf("unknown device: %v %v", none, err)
	}
}
