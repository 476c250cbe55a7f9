package main

import (
	"context"
	"fmt"
)

// runInterop dispatches `blindpost interop peer|referee`.
func runInterop(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "usage: blindpost interop peer|referee [flags]")
		return errUsage
	}
	switch args[0] {
	case "peer":
		return runPeer(ctx, env, args[1:])
	case "referee":
		return runReferee(ctx, env, args[1:])
	default:
		fmt.Fprintf(env.stderr, "blindpost interop: unknown subcommand %q\n", args[0])
		return errUsage
	}
}
