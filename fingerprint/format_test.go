package fingerprint

import (
	"strings"
	"testing"
)

func TestGroups(t *testing.T) {
	t.Parallel()
	const n = "300354477692869396892869876765458257569162576843440918079131"
	const want = "30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131"
	if got := Groups(n); got != want {
		t.Errorf("Groups = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "12345", n[:59], n + "1", strings.Replace(n, "3", "x", 1), "٣" + n[2:]} {
		if got := Groups(bad); got != bad {
			t.Errorf("Groups(%q) = %q, want it unchanged", bad, got)
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	alice, _ := aliceAndBob(t)
	if got, want := alice.String(), Groups(alice.Displayable()); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
