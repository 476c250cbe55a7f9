package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/tui"
)

// runChat is `blindpost chat`: the terminal UI (package tui) over a
// messenger that stays connected to the relay, reconnecting as needed.
// The UI's output rules are at the top of tui/model.go; before and after
// it, errors go to standard error with a "blindpost:" prefix, as for every
// command.
func runChat(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs, env)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost chat [flags]\n\nThe terminal UI: contacts, conversations, safety numbers. Type /help in it.\nWith -v, diagnostics go to chat.log in the profile folder.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if !isTerminal(env.stdout) {
		return errors.New("chat needs a terminal; scripts use `blindpost send` and `blindpost recv`")
	}
	uiEnv, closeLog, err := cf.chatLog(env)
	if err != nil {
		return err
	}
	defer closeLog()

	var prog *tea.Program // set before the messenger runs, so before any event
	m, p, err := cf.openMessenger(uiEnv, func(e messenger.Event) { prog.Send(tui.EventMsg(e)) })
	if err != nil {
		return err
	}
	defer p.Close()
	defer m.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	model, err := tui.New(tui.Config{Messenger: m, Profile: p, Relay: cf.relay, Context: runCtx})
	if err != nil {
		return err
	}
	prog = tea.NewProgram(model, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(env.stdout))
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		m.Run(runCtx) // returns runCtx's error once the UI is gone
	}()
	_, err = prog.Run()
	cancel()
	<-ran
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("chat: %w", err)
	}
	return nil
}

// chatLog returns the environment the messenger logs to: with -v, a
// chat.log file in the profile folder, since the screen belongs to the UI.
func (f *clientFlags) chatLog(env *environment) (*environment, func(), error) {
	if !f.verbose {
		return env, func() {}, nil
	}
	dir, err := f.resolveProfileDir(env)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, "chat.log")
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(env.stderr, "blindpost: diagnostics go to %s\n", path)
	e := *env
	e.stderr = lf
	return &e, func() { lf.Close() }, nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
