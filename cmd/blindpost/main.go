// Command blindpost is the single binary of the project: the relay, the
// clients, the demo, the labs and the interop peer are its subcommands.
//
// main only wires packages together; each subcommand lives in its own file
// and is listed in the commands table below.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run receives the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment carries the process's standard streams so that subcommands
// can be run from tests.
type environment struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// errUsage reports a usage error whose message was already printed.
var errUsage = errors.New("usage")

func commands() map[string]command {
	return map[string]command{
		"interop": {summary: "interoperability tools (peer, referee)", run: runInterop},
		"lab":     {summary: "teaching labs: X3DH and ratchet walk-throughs, attacks, the visual ratchet", run: runLab},
		"demo":    {summary: "a conversation through an embedded relay, then the provider's view", run: runDemo},
		"warrant": {summary: "export what a relay's database holds about one account", run: runWarrant},
		"chat":    {summary: "chat in the terminal: contacts, conversations, safety numbers", run: runChat},
		"send":    {summary: "send messages to a contact (scriptable)", run: runSend},
		"recv":    {summary: "receive messages as JSON lines (scriptable)", run: runRecv},
		"relay":   {summary: "run the blind relay (websocket server)", run: runRelay},

		"loadtest": {summary: "load a relay with simulated users: messages/s, latency, memory per connection", run: runLoadtest},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "blindpost: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, env *environment, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "blindpost: unknown command %q\n\n", args[0])
		usage(env.stderr, cmds)
		return errUsage
	}
	return c.run(ctx, env, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: blindpost <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, cmds[name].summary)
	}
}
