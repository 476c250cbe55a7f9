package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/relay/store/storepb"
)

// Implementation constants of the bbolt store.
const (
	// FileName is the database file under the data directory.
	FileName = "relay.db"

	// SchemaVersion is stored in the meta bucket; Open refuses a database
	// written with another layout rather than misread it.
	SchemaVersion = 1

	// maxBatchOps caps the operations committed together, and
	// maxBatchBytes the message content they write (a batch stops at the
	// op that reaches it). A larger batch shares one fsync, and the B+tree
	// pages a commit rewrites, among more messages: with 200 busy queues a
	// batch of 512 rewrites about one 4 KiB page per 2.7 ops, and at 512
	// the committer was what bounded a loaded relay (docs/loadtest.md).
	// The cost is a longer wait for a caller whose op just missed a batch,
	// and a larger transaction, bounded in memory by maxBatchBytes.
	maxBatchOps   = 2048
	maxBatchBytes = 8 << 20

	// opQueueSize is how many operations may wait for the committer before
	// submitters block: enough to fill the next batch while one commits.
	opQueueSize = 2 * maxBatchOps

	// defaultLockTimeout bounds the wait for the database file's lock,
	// held by another process (a running relay) while it is open.
	defaultLockTimeout = 5 * time.Second
)

// Options tune a Bolt store. Zero values take the defaults noted.
type Options struct {
	// QueueCap is the most envelopes a device's queue holds (0: no cap).
	QueueCap int
	// MaxDevices is the most devices an account may register (0: no cap).
	MaxDevices int
	// LockTimeout bounds the wait for the file lock (0: 5 s).
	LockTimeout time.Duration
	// Logger receives the store's own diagnostics (nil: discarded).
	Logger *slog.Logger
}

// Bolt is the Store on an embedded bbolt database. Writes go through one
// committer goroutine that commits every operation waiting at that moment
// in one transaction, so that one fsync makes a whole batch durable while
// each caller still returns only after its own operation is on disk.
type Bolt struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex // guards closed against submissions
	closed bool
	ops    chan *op
	done   chan struct{} // closed when the committer has exited

	statsMu sync.Mutex
	stats   CommitStats
}

var (
	_ Store  = (*Bolt)(nil)
	_ Reader = (*Bolt)(nil)
)

// CommitStats counts the committer's work, for metrics.
type CommitStats struct {
	Commits, Ops, Retries uint64
}

// op is one write. fn may run more than once (a failed batch is retried
// one op at a time), so it must set its results, not accumulate them. It
// returns a refusal (see refuse) only before writing anything; any other
// error aborts the whole transaction.
type op struct {
	fn   func(tx *bolt.Tx) error
	size int // bytes of message content fn writes, for maxBatchBytes
	done chan error
}

// refusal is an op's logical outcome (not found, queue full...): it is
// reported to the caller while the rest of the batch commits.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

func refuse(err error) error { return refusal{err} }

// Open opens or creates the database under dir and starts its committer.
func Open(dir string, opts Options) (*Bolt, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, boltOptions(opts, false))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := db.Update(initSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("store: init: %w", err), db.Close())
	}
	s := newBolt(db, opts)
	s.ops = make(chan *op, opQueueSize)
	go s.commitLoop()
	return s, nil
}

// OpenReadOnly opens an existing database for reading only, as an
// operator's export does. It waits up to opts.LockTimeout for a running
// relay to release the file.
func OpenReadOnly(dir string, opts Options) (*Bolt, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: open read-only: %w", err)
	}
	db, err := bolt.Open(path, 0o600, boltOptions(opts, true))
	if err != nil {
		return nil, fmt.Errorf("store: open read-only: %w", err)
	}
	if err := db.View(checkSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open read-only: %w", err), db.Close())
	}
	s := newBolt(db, opts)
	close(s.done)
	return s, nil
}

func newBolt(db *bolt.DB, opts Options) *Bolt {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bolt{db: db, opts: opts, log: log, done: make(chan struct{})}
}

func boltOptions(opts Options, readOnly bool) *bolt.Options {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = defaultLockTimeout
	}
	return &bolt.Options{
		Timeout:  timeout,
		ReadOnly: readOnly,
		// The hashmap freelist stays fast as the file fragments, which a
		// queue that is written and deleted all day does.
		FreelistType: bolt.FreelistMapType,
		// Not syncing the freelist saves a page write per commit; the cost
		// is a scan of the file when it is reopened after a crash.
		NoFreelistSync: true,
	}
}

func initSchema(tx *bolt.Tx) error {
	for _, b := range Schema() {
		if _, err := tx.CreateBucketIfNotExists([]byte(b.Name)); err != nil {
			return err
		}
	}
	meta := tx.Bucket([]byte(bucketMeta))
	if meta.Get([]byte(keyMeta)) == nil {
		return putRecord(meta, []byte(keyMeta), &storepb.Meta{SchemaVersion: SchemaVersion})
	}
	return checkSchema(tx)
}

func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return errors.New("no meta bucket: not a relay database")
	}
	var m storepb.Meta
	if err := getRecord(meta, []byte(keyMeta), &m); err != nil {
		return err
	}
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("schema version %d, want %d", m.SchemaVersion, SchemaVersion)
	}
	return nil
}

// Close stops accepting writes, commits those already submitted, and closes
// the database.
func (s *Bolt) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.ops != nil {
		close(s.ops)
	}
	s.mu.Unlock()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Stats returns the committer's counters so far.
func (s *Bolt) Stats() CommitStats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

// update submits fn to the committer and waits until it is durable or
// refused. Once submitted, the op runs even if ctx ends, and update waits
// for it: the caller must learn whether the write happened.
func (s *Bolt) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	return s.updateSized(ctx, 0, fn)
}

// updateSized is update for an op that writes about size bytes (message
// content, uploaded keys), which count against a batch's maxBatchBytes.
func (s *Bolt) updateSized(ctx context.Context, size int, fn func(tx *bolt.Tx) error) error {
	o := &op{fn: fn, size: size, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	if s.ops == nil {
		s.mu.RUnlock()
		return ErrReadOnly
	}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("store: %w", ctx.Err())
	}
	s.mu.RUnlock()
	return <-o.done
}

// view runs a read-only transaction.
func (s *Bolt) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.db.View(fn); err != nil {
		if errors.Is(err, bolt.ErrDatabaseNotOpen) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// commitLoop is the committer: it takes the first waiting op, gathers every
// other op already waiting (up to maxBatchOps and maxBatchBytes), and
// commits them together. No timer: under light load a batch is one op and
// commits at once; under heavy load ops pile up while the previous fsync
// runs and share the next.
func (s *Bolt) commitLoop() {
	defer close(s.done)
	batch := make([]*op, 0, maxBatchOps)
	for first := range s.ops {
		batch = append(batch[:0], first)
		size := first.size
	gather:
		for len(batch) < maxBatchOps && size < maxBatchBytes {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break gather
				}
				batch = append(batch, o)
				size += o.size
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func (s *Bolt) commit(batch []*op) {
	results := make([]error, len(batch))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, o := range batch {
			results[i] = o.fn(tx)
			var r refusal
			if results[i] != nil && !errors.As(results[i], &r) {
				return results[i]
			}
		}
		return nil
	})
	s.count(1, len(batch), 0)
	if err == nil {
		for i, o := range batch {
			o.done <- unwrapRefusal(results[i])
		}
		return
	}
	if len(batch) == 1 {
		batch[0].done <- fmt.Errorf("store: commit: %w", err)
		return
	}
	// One op broke the transaction: commit each op alone so that only the
	// faulty one fails.
	s.log.Warn("store: batch failed, retrying ops one by one", "ops", len(batch), "err", err)
	for _, o := range batch {
		s.count(1, 0, 1)
		var res error
		err := s.db.Update(func(tx *bolt.Tx) error {
			res = o.fn(tx)
			var r refusal
			if res != nil && !errors.As(res, &r) {
				return res
			}
			return nil
		})
		if err != nil {
			o.done <- fmt.Errorf("store: commit: %w", err)
			continue
		}
		o.done <- unwrapRefusal(res)
	}
}

func unwrapRefusal(err error) error {
	var r refusal
	if errors.As(err, &r) {
		return r.err
	}
	return err
}

func (s *Bolt) count(commits, ops, retries int) {
	s.statsMu.Lock()
	s.stats.Commits += uint64(commits)
	s.stats.Ops += uint64(ops)
	s.stats.Retries += uint64(retries)
	s.statsMu.Unlock()
}
