package demo

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// printer writes the demo's story.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// section starts a part of the story.
func (p *printer) section(title string) {
	p.printf("\n== %s %s\n", title, strings.Repeat("=", max(0, 70-len(title))))
}

// step is one protocol step.
func (p *printer) step(format string, args ...any) { p.printf("* "+format+"\n", args...) }

// detail is an indented line under a step.
func (p *printer) detail(format string, args ...any) { p.printf("    "+format+"\n", args...) }

// short is a key's first 6 bytes in hex, enough to tell keys apart.
func short(b []byte) string { return hex.EncodeToString(b[:min(len(b), 6)]) + "…" }
