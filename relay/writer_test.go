package relay

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// recordConn is a net.Conn that records each Write and deadline.
type recordConn struct {
	net.Conn
	mu        sync.Mutex
	writes    [][]byte
	deadlines []time.Time
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recordConn) SetWriteDeadline(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deadlines = append(r.deadlines, t)
	return nil
}

// TestBatchConn checks that held writes leave in one write, in order, by
// the release's deadline, and that unheld writes pass straight through.
func TestBatchConn(t *testing.T) {
	raw := &recordConn{}
	b := &batchConn{Conn: raw}
	early, late := time.Unix(1, 0), time.Unix(2, 0)
	write := func(s string) {
		t.Helper()
		if _, err := b.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}

	write("a")
	b.hold()
	if err := b.SetWriteDeadline(early); err != nil { // kept, not applied, while held
		t.Fatal(err)
	}
	write("bc")
	write("d")
	if n := b.buffered(); n != 3 {
		t.Fatalf("buffered %d, want 3", n)
	}
	if err := b.release(late); err != nil {
		t.Fatal(err)
	}
	write("e")
	if err := b.release(late); err != nil { // nothing held: no write
		t.Fatal(err)
	}
	want := [][]byte{[]byte("a"), []byte("bcd"), []byte("e")}
	if !slices.EqualFunc(raw.writes, want, bytes.Equal) {
		t.Fatalf("writes %q, want %q", raw.writes, want)
	}
	if !slices.Equal(raw.deadlines, []time.Time{late}) {
		t.Fatalf("deadlines %v, want only the release's", raw.deadlines)
	}
}
