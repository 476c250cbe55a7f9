package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"go.mau.fi/libsignal/logger"
)

func main() {
	silenceLibraryLogger()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("peer", "gomau")
	if err := run(os.Stdin, os.Stdout, log); err != nil {
		log.Error("peer stopped", "err", err)
		os.Exit(1)
	}
}

// silenceLibraryLogger replaces go.mau.fi/libsignal's global logger with one that drops every
// message. The library's default logger writes Info, Warning and Error lines to standard output,
// where they would interleave with the replies. Call it once, before anything else touches the
// library: the library creates its default logger lazily without synchronisation.
func silenceLibraryLogger() {
	logger.Logger = discardLogger{}
}

// discardLogger implements the library's logger.Loggable and drops everything. The library still
// formats each message before handing it over; only patching the library could avoid that cost.
type discardLogger struct{}

func (discardLogger) Debug(caller, message string)   {}
func (discardLogger) Info(caller, message string)    {}
func (discardLogger) Warning(caller, message string) {}
func (discardLogger) Error(caller, message string)   {}
func (discardLogger) Configure(settings string)      {}

// run serves the peer contract: one request per line from in, one reply per line to out, in order.
// It returns nil after replying to quit or at the end of input, and an error only when in or out
// fails. Lines may be of any length (a 64 KiB plaintext makes a line of about 90 KB).
func run(in io.Reader, out io.Writer, log *slog.Logger) error {
	r := bufio.NewReaderSize(in, 1<<20)
	w := bufio.NewWriterSize(out, 1<<20)
	p := newPeer(log)
	for {
		line, readErr := r.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			reply, quit := p.handleLine(line)
			if _, err := w.Write(append(reply, '\n')); err != nil {
				return fmt.Errorf("write reply: %w", err)
			}
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write reply: %w", err)
			}
			if quit {
				return nil
			}
		}
		if errors.Is(readErr, io.EOF) {
			return nil
		}
		if readErr != nil {
			return fmt.Errorf("read request: %w", readErr)
		}
	}
}
