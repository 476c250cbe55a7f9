package lab

// Output rules of `blindpost lab`. Every lab prints through a printer, and
// the golden files in testdata/golden pin the result byte for byte.
//
//  1. Standard output carries the lab and nothing else. Usage errors and
//     failures go to standard error, as the returned error.
//  2. The same seed gives the same bytes on any machine: no clock, no map
//     iteration, no pointers, no floats, no environment, no terminal
//     detection (no colour), ASCII only.
//  3. The first line names the lab, its seed and the specification it
//     follows. Sections are numbered: "== 3. Title (spec section)".
//  4. A value is printed as its name in the specification (IK_B, DH1, SK,
//     RK, CKs, mk), its bytes in lower-case hex, and on the next line,
//     indented under the value, one sentence on what it is for. Values of
//     up to 32 bytes are printed in full on one line; longer ones wrap at
//     32 bytes a line. A name longer than the name column gets a line of
//     its own. A value longer than 96 bytes (a Kyber key or ciphertext)
//     shows its first 32 bytes, then its size and SHA-256.
//  5. Ratchet keys are named by owner and order: A1, A2... for Alice, B0
//     (her signed prekey SPK_B) then B1, B2... for Bob, T1... for a thief.
//     A chain key is CK(key,n), the message key it gives mk(key,n), root
//     keys RK0, RK1... in the order they first appear.
//  6. Tables show keys as short fingerprints: the first 4 bytes of the key
//     as 8 hex digits, so they can be found in the full hex.
//  7. A line that states an outcome starts with a fixed word that tests
//     match: "check:" for a verified fact, "READ" / "CANNOT READ" for an
//     attacker's attempt, "MATCH" / "MISMATCH" for safety numbers,
//     "result:" for a lab's conclusion.
//  8. Exit status: 0 when the lab ran (a failed attack is the lesson, not
//     an error), 1 when it could not run, 2 on a usage error.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// printer writes a lab following the output rules. It remembers the first
// write error; Err returns it.
type printer struct {
	w       io.Writer
	err     error
	section int
}

func newPrinter(w io.Writer) *printer { return &printer{w: w} }

// Err returns the first error of the underlying writer.
func (p *printer) Err() error { return p.err }

func (p *printer) write(s string) {
	if p.err != nil {
		return
	}
	_, p.err = io.WriteString(p.w, s)
}

// title prints the lab's first lines: its name, seed and specification.
func (p *printer) title(lab string, seed uint64, spec string) {
	p.write(fmt.Sprintf("blindpost lab %s (seed %d)\n", lab, seed))
	p.write("Specification: " + spec + ".\n")
	p.write("Every random byte comes from the seed: the same seed prints the same bytes.\n")
}

// heading starts a numbered section.
func (p *printer) heading(format string, args ...any) {
	p.section++
	p.write(fmt.Sprintf("\n== %d. %s\n", p.section, fmt.Sprintf(format, args...)))
}

// line prints one line of text.
func (p *printer) line(format string, args ...any) {
	p.write(fmt.Sprintf(format, args...) + "\n")
}

// blank prints an empty line.
func (p *printer) blank() { p.write("\n") }

// value prints a named value and what it is for (rule 4).
func (p *printer) value(name string, b []byte, purpose string) {
	lines := hexLines(b)
	pad := strings.Repeat(" ", 2+nameWidth+1)
	if len(name) > nameWidth {
		p.write("  " + name + "\n")
		p.write(pad + lines[0] + "\n")
	} else {
		p.write(fmt.Sprintf("  %-*s %s\n", nameWidth, name, lines[0]))
	}
	for _, l := range lines[1:] {
		p.write(pad + l + "\n")
	}
	if purpose != "" {
		p.write(pad + purpose + "\n")
	}
}

// long prints a value longer than longValue bytes as its first 32 bytes,
// its size and its SHA-256 (rule 4); shorter values as value does.
func (p *printer) long(name string, b []byte, purpose string) {
	if len(b) <= longValue {
		p.value(name, b, purpose)
		return
	}
	p.value(name, b[:hexPerLine], "")
	sum := sha256.Sum256(b)
	pad := strings.Repeat(" ", 2+nameWidth+1)
	p.write(fmt.Sprintf("%s... %d bytes in all, SHA-256 %s\n", pad, len(b), hex.EncodeToString(sum[:])))
	if purpose != "" {
		p.write(pad + purpose + "\n")
	}
}

// field prints a named value that is not bytes (an id, a counter).
func (p *printer) field(name, v, purpose string) {
	pad := strings.Repeat(" ", 2+nameWidth+1)
	p.write(fmt.Sprintf("  %-*s %s\n", nameWidth, name, v))
	if purpose != "" {
		p.write(pad + purpose + "\n")
	}
}

// check prints a verified fact (rule 7).
func (p *printer) check(format string, args ...any) {
	p.write("  check: " + fmt.Sprintf(format, args...) + "\n")
}

// result prints a lab's conclusion (rule 7).
func (p *printer) result(format string, args ...any) {
	p.write("result: " + fmt.Sprintf(format, args...) + "\n")
}

// hexLines splits b into lines of hexPerLine bytes.
func hexLines(b []byte) []string {
	if len(b) == 0 {
		return []string{"(empty)"}
	}
	var out []string
	for len(b) > hexPerLine {
		out = append(out, hex.EncodeToString(b[:hexPerLine]))
		b = b[hexPerLine:]
	}
	return append(out, hex.EncodeToString(b))
}

// fp is a key's short fingerprint (rule 6).
func fp(b []byte) string {
	if len(b) < fingerprintBytes {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:fingerprintBytes])
}

// yesNo prints a boolean for check lines.
func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// plural is "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
