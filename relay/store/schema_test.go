package store

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// docsTable reads the "What the relay knows" table of docs/relay.md:
// bucket -> key parts, and bucket -> fields ("—" for none).
func docsTable(t *testing.T) (keys map[string]string, fields map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/relay.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## What the relay knows\n")
	if !ok {
		t.Fatal("docs/relay.md has no \"What the relay knows\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	keys, fields = map[string]string{}, map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			t.Fatalf("bad row %q", line)
		}
		bucket := strings.Trim(strings.TrimSpace(cols[1]), "`")
		key := strings.TrimSpace(cols[2])
		field := strings.Trim(strings.TrimSpace(cols[3]), "`")
		if k, ok := keys[bucket]; ok && k != key {
			t.Errorf("bucket %s documented with keys %q and %q", bucket, k, key)
		}
		keys[bucket] = key
		fields[bucket] = append(fields[bucket], field)
	}
	return keys, fields
}

// TestSchemaMatchesDocs pins the stored schema (every bucket, its key
// layout, every field of its record) to the list in docs/relay.md, both
// ways: a new stored field fails this test until it is documented.
func TestSchemaMatchesDocs(t *testing.T) {
	docKeys, docFields := docsTable(t)
	seen := map[string]bool{}
	for _, b := range Schema() {
		seen[b.Name] = true
		if got, want := docKeys[b.Name], strings.Join(b.Key.KeyParts(), ", "); got != want {
			t.Errorf("bucket %s: docs give key %q, store uses %q", b.Name, got, want)
		}
		want := []string{"—"}
		if b.Record != nil {
			want = want[:0]
			fs := b.Record.ProtoReflect().Descriptor().Fields()
			for i := range fs.Len() {
				want = append(want, string(fs.Get(i).Name()))
			}
		}
		got := slices.Clone(docFields[b.Name])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("bucket %s: docs list fields %v, record has %v", b.Name, got, want)
		}
	}
	for bucket := range docKeys {
		if !seen[bucket] {
			t.Errorf("docs list bucket %s, which the store does not have", bucket)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("schema has only %d buckets", len(seen))
	}
}
