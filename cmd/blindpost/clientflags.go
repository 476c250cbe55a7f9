package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
)

// defaultRelayURL is where `blindpost relay` listens by default.
const defaultRelayURL = "ws://127.0.0.1:7420"

// clientFlags are the flags every client command takes.
type clientFlags struct {
	profileDir string
	name       string
	relay      string
	passFile   string
	verbose    bool
}

func (f *clientFlags) register(fs *flag.FlagSet, env *environment) {
	fs.StringVar(&f.profileDir, "profile", env.getenv("BLINDPOST_PROFILE"), "profile `directory` (default: a folder per name under $XDG_DATA_HOME/blindpost/profiles)")
	fs.StringVar(&f.name, "name", env.getenv("BLINDPOST_NAME"), "account `name` (needed on first use)")
	relay := env.getenv("BLINDPOST_RELAY")
	if relay == "" {
		relay = defaultRelayURL
	}
	fs.StringVar(&f.relay, "relay", relay, "relay `URL`")
	fs.StringVar(&f.passFile, "passphrase-file", env.getenv("BLINDPOST_PASSPHRASE_FILE"), "`file` holding the profile's passphrase (encrypts the profile at rest; or set BLINDPOST_PASSPHRASE)")
	fs.BoolVar(&f.verbose, "v", false, "log diagnostics to standard error")
}

// profilesRoot is the folder that holds one profile folder per name.
func profilesRoot(env *environment) (string, error) {
	if d := env.getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "blindpost", "profiles"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no default profile folder (use --profile): %w", err)
	}
	return filepath.Join(d, "blindpost", "profiles"), nil
}

// resolveProfileDir picks the profile folder: --profile, else the folder
// for --name, else the only profile there is.
func (f *clientFlags) resolveProfileDir(env *environment) (string, error) {
	if f.profileDir != "" {
		return f.profileDir, nil
	}
	root, err := profilesRoot(env)
	if err != nil {
		return "", err
	}
	if f.name != "" {
		if err := messenger.ValidName(f.name); err != nil {
			return "", err
		}
		return filepath.Join(root, f.name), nil
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	switch len(names) {
	case 1:
		return filepath.Join(root, names[0]), nil
	case 0:
		return "", errors.New("no profile yet: give --name NAME to create one")
	}
	return "", fmt.Errorf("several profiles (%s): choose one with --name", strings.Join(names, ", "))
}

func (f *clientFlags) passphrase(env *environment) ([]byte, error) {
	if f.passFile != "" {
		b, err := os.ReadFile(f.passFile)
		if err != nil {
			return nil, err
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := env.getenv("BLINDPOST_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// openMessenger opens the profile (creating the account on first use) and
// returns a messenger for it. The caller closes the profile.
func (f *clientFlags) openMessenger(env *environment, onEvent func(messenger.Event)) (*messenger.Messenger, *profile.Profile, error) {
	dir, err := f.resolveProfileDir(env)
	if err != nil {
		return nil, nil, err
	}
	pass, err := f.passphrase(env)
	if err != nil {
		return nil, nil, err
	}
	p, err := profile.Open(filepath.Join(dir, "profile.db"), pass)
	if err != nil {
		return nil, nil, err
	}
	acct, created, err := messenger.Setup(p, f.name, rand.Reader, time.Now())
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	if created {
		fmt.Fprintf(env.stderr, "blindpost: created profile %s for %q in %s\n", acct.Identity.Public, acct.Name, dir)
	}
	log := slog.New(slog.DiscardHandler)
	if f.verbose {
		log = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	m, err := messenger.New(messenger.Config{Profile: p, Relay: f.relay, Logger: log, OnEvent: onEvent})
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return m, p, nil
}

// parseClientFlags parses args into fs, printing usage on error.
func parseClientFlags(fs *flag.FlagSet, env *environment, args []string) error {
	fs.SetOutput(env.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
