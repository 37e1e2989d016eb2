package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/trust"
)

// TestCertFlags: each unusable flag value of the certificate commands is
// a usage error (exit 64) naming the flag; a --ca file that is missing is
// an input error (exit 66); good values pass.
func TestCertFlags(t *testing.T) {
	for _, tt := range []struct {
		f    certFlags
		want string
		code int
	}{
		{certFlags{name: "bad name"}, "--name", exitUsage},
		{certFlags{name: "a..b"}, "--name", exitUsage},
		{certFlags{at: "yesterday"}, "--at", exitUsage},
		{certFlags{revocation: "maybe"}, "--revocation", exitUsage},
		{certFlags{pins: []string{"sha1/AAAA"}}, "unsupported hash", exitUsage},
		{certFlags{pins: []string{"sha256/short"}}, "sha256/", exitUsage},
		{certFlags{ca: filepath.Join(t.TempDir(), "missing.pem")}, "does not exist", exitNoInput},
	} {
		_, err := tt.f.options(nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want one with %q", tt.f, err, tt.want)
			continue
		}
		if xe := certError(err, "tlsmail cert verify"); xe.code != tt.code {
			t.Errorf("%+v: exit %d, want %d", tt.f, xe.code, tt.code)
		}
	}
	var ie *certinfo.InputError
	if _, err := (certFlags{ca: filepath.Join(t.TempDir(), "missing.pem")}).options(nil); !errors.As(err, &ie) {
		t.Errorf("missing --ca: %v, want a *certinfo.InputError", err)
	}
	for _, ok := range []string{"mail.example.org", "127.0.0.1", "[::1]", "localhost."} {
		if _, err := parseName(ok); err != nil {
			t.Errorf("parseName(%q): %v", ok, err)
		}
	}
	c := &trust.Checker{}
	opts, err := certFlags{name: "Mail.example.org.", at: "2030-01-01T00:00:00Z", revocation: "strict", pins: []string{}}.options(c)
	if err != nil || opts.Name != "Mail.example.org" || opts.Time.Year() != 2030 || opts.Revocation != trust.RevocationStrict || opts.Checker != c {
		t.Errorf("options = %+v, %v", opts, err)
	}
}
