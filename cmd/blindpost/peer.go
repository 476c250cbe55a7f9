package main

import (
	"context"
	"crypto/rand"
	"flag"
	"time"

	"github.com/blindpost/blindpost/interop/peer"
)

// runPeer is `blindpost interop peer`: one device speaking the interop peer
// contract (shared/interop/PEER.md) on standard input and output.
func runPeer(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("interop peer", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		env.stderr.Write([]byte("usage: blindpost interop peer\n\nSpeaks the interop peer contract (version 1): JSON requests on standard\ninput, one JSON reply per line on standard output.\n"))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	return peer.New(rand.Reader, time.Now).Serve(env.stdin, env.stdout)
}
