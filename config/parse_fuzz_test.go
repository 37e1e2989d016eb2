package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: whatever the configuration file holds, Parse either fails
// with a *Error that names the file and a line of it, or returns accounts
// that keep the file format's rules, checked here without the parser:
//
//   - a line of 500 characters or more is an error (msmtp's limit); a file
//     of blank lines (spaces and tabs) and comment lines only is no error
//     and has no account;
//   - account names are non-empty, unique, without ':' or ','; every
//     account and every setting's origin is on a line of the file;
//   - a port is 1 to 65535 when set, a fingerprint 16, 20 or 32 bytes;
//   - Account(name) finds each account, and Select("", "") the default one
//     or a *Error;
//   - Check is nil exactly when its doc comment says the account can send
//     (a host, certificate and key together, TLS with something to trust),
//     and otherwise a *Error naming the account, its line, the key and a
//     fix;
//   - parsing the same bytes again gives the same result.
func FuzzParse(f *testing.F) {
	f.Add([]byte(manualRC))
	f.Add([]byte(inheritRC))
	f.Add([]byte("account a : b\n\"\n"))
	f.Add([]byte("# only a comment\n\n   \t\n#x"))
	f.Add([]byte("host h\ntls on\ntls_trust_file\n"))
	f.Add([]byte("account a\nhost h\ntls_cert_file c\naccount b : a\ntls_key_file k\nport 587\n"))
	f.Add([]byte("host " + strings.Repeat("x", 495) + "\n"))
	f.Add([]byte("account a,b\nhost h\n"))
	f.Add([]byte("bogus"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(context.Background(), "fuzz", bytes.NewReader(data), Options{Home: "/h"})
		lines := bytes.Count(data, []byte("\n")) + 1
		long, onlyComments := false, true
		all := bytes.Split(data, []byte("\n"))
		for i, l := range all {
			if len(l) >= maxLine {
				long = true
			}
			if i < len(all)-1 { // a CR before the LF ends the line with it
				l = bytes.TrimSuffix(l, []byte("\r"))
			}
			// Blanks are spaces and tabs only.
			if s := strings.TrimLeft(string(l), " \t"); s != "" && s[0] != '#' {
				onlyComments = false
			}
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ce.File != "fuzz" || ce.Line < 1 || ce.Line > lines || ce.Msg == "" {
				t.Fatalf("error %#v: want the file, a line from 1 to %d, and a message", ce, lines)
			}
			if onlyComments && !long {
				t.Fatalf("a file of blank and comment lines only: %v", err)
			}
			return
		}
		if long {
			t.Fatal("a line of 500 characters or more was accepted")
		}
		if onlyComments && len(file.Accounts) != 0 {
			t.Fatalf("%d accounts from blank and comment lines", len(file.Accounts))
		}

		seen := map[string]bool{}
		for _, a := range file.Accounts {
			where := fmt.Sprintf("account %q", a.Name)
			if a.Name == "" || strings.ContainsAny(a.Name, ":,") || seen[a.Name] {
				t.Errorf("%s: empty, with ':' or ',', or defined twice", where)
			}
			seen[a.Name] = true
			if a.File != "fuzz" || a.Line < 1 || a.Line > lines {
				t.Errorf("%s: defined at %s:%d, not a line of the file (1 to %d)", where, a.File, a.Line, lines)
			}
			for k, o := range a.Set {
				if o.Line < 1 || o.Line > lines {
					t.Errorf("%s: %s set on line %d, not a line of the file", where, k, o.Line)
				}
			}
			if a.Port != 0 && (a.Port < 1 || a.Port > 65535) {
				t.Errorf("%s: port %d", where, a.Port)
			}
			if n := len(a.Fingerprint); n != 0 && n != 16 && n != 20 && n != 32 {
				t.Errorf("%s: a fingerprint of %d bytes", where, n)
			}
			if got, err := file.Account(a.Name); err != nil || got != a {
				t.Errorf("%s: Account(name) = %p, %v; want the account", where, got, err)
			}

			canSend := a.Host != "" && (a.CertFile == "") == (a.KeyFile == "") &&
				!(a.TLS && a.CertCheck && a.TrustFile == "" && len(a.Fingerprint) == 0 && len(a.Pin) == 0)
			err := a.Check()
			switch {
			case canSend && err != nil:
				t.Errorf("%s: Check = %v for an account that can send", where, err)
			case !canSend && err == nil:
				t.Errorf("%s: Check = nil; host %q, cert %q, key %q, tls %v, certcheck %v, trust %q, fingerprint %d bytes, %d pins",
					where, a.Host, a.CertFile, a.KeyFile, a.TLS, a.CertCheck, a.TrustFile, len(a.Fingerprint), len(a.Pin))
			case err != nil:
				var ce *Error
				if !errors.As(err, &ce) || ce.File != a.File || ce.Line != a.Line || ce.Key == "" || ce.Fix == "" ||
					!strings.Contains(ce.Msg, "account "+a.Name+":") {
					t.Errorf("%s: Check error %#v: want a *Error naming the account, its line, the key and a fix", where, err)
				}
			}
		}
		if a, err := file.Select("", ""); err == nil {
			if a.Name != "default" {
				t.Errorf("Select chose %q, want the account called default", a.Name)
			}
		} else if !errors.As(err, new(*Error)) {
			t.Errorf("Select: error of type %T", err)
		}

		again, err := Parse(context.Background(), "fuzz", bytes.NewReader(data), Options{Home: "/h"})
		if err != nil || !reflect.DeepEqual(again, file) {
			t.Errorf("a second Parse of the same bytes differs (%v)", err)
		}
	})
}
