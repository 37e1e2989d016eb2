package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/trust"
)

// certFlags are the verification flags of probe, cert verify and cert
// check, as given on the command line.
type certFlags struct {
	ca         string   // --ca: trusted roots; empty for the system's
	name       string   // --name: DNS name or IP address; empty skips the name check
	at         string   // --at: RFC 3339 reference time; empty for now
	pins       []string // --pin: SPKI pins
	revocation string   // --revocation: off, soft (default) or strict
}

// register declares --name (what is the certificate it checks), --at
// (with its usage) and the trust flags (registerTrustFlags) of cert verify
// and cert check.
func (f *certFlags) register(fs *pflag.FlagSet, what, atUsage string) {
	fs.StringVar(&f.name, "name", "", "check that "+what+" is valid for `NAME` (a DNS name or an IP address)")
	fs.StringVar(&f.at, "at", "", atUsage)
	registerTrustFlags(fs, &f.ca, &f.pins, &f.revocation, string(trust.RevocationSoft))
}

// options checks the flags and loads the roots of --ca into the
// trust.Options the verification uses, with checker as its revocation
// checker. A bad value is a *flagError (or a *trust.PinError); a --ca file
// that cannot be read a *certinfo.InputError.
func (f certFlags) options(checker *trust.Checker) (trust.Options, error) {
	var opts trust.Options
	var err error
	if opts.Name, err = parseName(f.name); err != nil {
		return opts, err
	}
	if opts.Time, err = parseTime(f.at); err != nil {
		return opts, err
	}
	if opts.Revocation, err = parseRevocation(f.revocation); err != nil {
		return opts, err
	}
	if _, err = trust.ParsePins(f.pins); err != nil {
		return opts, err
	}
	opts.Pins = f.pins
	opts.Checker = checker
	if f.ca != "" {
		if opts.Roots, err = certinfo.LoadRoots(f.ca); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// flagError is a flag value of the certificate commands that cannot be
// used (exit 64).
type flagError struct {
	flag, value, reason string
}

func (e *flagError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.flag, e.value, e.reason)
}

// parseName checks a --name value: a DNS name or an IP address.
func parseName(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return ip.String(), nil
	}
	n := strings.TrimSuffix(s, ".")
	if len(n) > 253 || strings.ContainsAny(n, " /:@\\\t") || strings.HasPrefix(n, ".") || strings.Contains(n, "..") {
		return "", &flagError{flag: "--name", value: s, reason: "not a DNS name or an IP address"}
	}
	return n, nil
}

// parseTime checks an --at value (RFC 3339).
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &flagError{flag: "--at", value: s, reason: "want an RFC 3339 time such as 2026-01-31T12:00:00Z"}
	}
	return t, nil
}

// parseRevocation checks a --revocation value.
func parseRevocation(s string) (trust.RevocationMode, error) {
	switch m := trust.RevocationMode(s); m {
	case "", trust.RevocationSoft, trust.RevocationStrict, trust.RevocationOff:
		return m, nil
	}
	return "", &flagError{flag: "--revocation", value: s, reason: "want off, soft or strict"}
}
