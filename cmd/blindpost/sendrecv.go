package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/blindpost/blindpost/messenger"
)

// runSend is `blindpost send --to NAME [TEXT...]`: sends TEXT, or each line
// of standard input as one message, and exits 0 once the relay has stored
// every one of them.
func runSend(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, env)
	to := fs.String("to", "", "recipient `name`")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost send --to NAME [flags] [TEXT...]\n\nWithout TEXT, each line of standard input is sent as one message.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return errUsage
	}
	m, p, err := cf.openMessenger(env, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	defer m.Close()
	if _, err := m.Connect(ctx); err != nil {
		return err
	}
	send := func(text string) error {
		_, err := m.Send(ctx, *to, text)
		return err
	}
	if fs.NArg() > 0 {
		return send(strings.Join(fs.Args(), " "))
	}
	sc := bufio.NewScanner(env.stdin)
	sc.Buffer(make([]byte, 64<<10), messenger.MaxTextSize+1)
	for sc.Scan() {
		if err := send(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// recvLine is one received message as `blindpost recv` prints it.
type recvLine struct {
	From   string    `json:"from"`
	Text   string    `json:"text"`
	ID     string    `json:"id"`
	SentAt time.Time `json:"sent_at"`
}

// runRecv is `blindpost recv [--wait D]`: prints each received message as
// one JSON line once it is saved, and exits when the relay's queue is empty
// and the wait is over.
func runRecv(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("recv", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, env)
	wait := fs.Duration("wait", 0, "after the queue is empty, keep receiving for this `duration`")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost recv [flags]\n\nPrints each received message as a JSON line {from, text, id, sent_at}.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	out := json.NewEncoder(env.stdout)
	var printErr error
	onEvent := func(e messenger.Event) {
		switch e.Kind {
		case messenger.EventMessage:
			if err := out.Encode(recvLine{From: e.Message.From, Text: e.Message.Text, ID: e.Message.ID, SentAt: e.Message.SentAt}); err != nil && printErr == nil {
				printErr = err
			}
		case messenger.EventIdentityChanged:
			fmt.Fprintf(env.stderr, "blindpost: WARNING: %s's identity key changed; messages from the new key are held until you approve it in `blindpost chat`\n", e.Contact)
		case messenger.EventDropped:
			fmt.Fprintf(env.stderr, "blindpost: dropped an undecryptable message from %s: %v\n", e.Contact, e.Err)
		}
	}
	m, p, err := cf.openMessenger(env, onEvent)
	if err != nil {
		return err
	}
	defer p.Close()
	defer m.Close()
	c, err := m.Connect(ctx)
	if err != nil {
		return err
	}
	if err := m.Receive(ctx, c, *wait); err != nil {
		return err
	}
	return printErr
}
