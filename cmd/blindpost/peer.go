package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/interop/peer"
	"github.com/blindpost/blindpost/spqr"
)

// runPeer is `blindpost interop peer`: one device speaking the interop peer
// contract (shared/interop/PEER.md) on standard input and output.
func runPeer(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("interop peer", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		env.stderr.Write([]byte("usage: blindpost interop peer [--spqr offer|require]\n\nSpeaks the interop peer contract (version 1): JSON requests on standard\ninput, one JSON reply per line on standard output.\n\n"))
		fs.PrintDefaults()
	}
	mode := fs.String("spqr", "offer", "post-quantum ratchet in version-4 sessions: `offer` it and fall back for a peer without it (libsignal 0.72; 0.90-0.91 offer it too), or `require` it (libsignal >= 0.92, blindpost's clients)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := peer.New(rand.Reader, time.Now)
	switch *mode {
	case "offer":
		p.SPQRMinimum = spqr.V0
	case "require":
		p.SPQRMinimum = spqr.V1
	default:
		fmt.Fprintf(env.stderr, "--spqr must be offer or require, not %q\n", *mode)
		return errUsage
	}
	return p.Serve(env.stdin, env.stdout)
}
