package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// TestFlagHintsNameRealFlags: every flag the hint table names is a flag of
// the command its row is for (a flag renamed or dropped in the CLI fails
// here, not in a user's terminal). "tlsmail probe --versions" in a send
// hint is checked against probe.
func TestFlagHintsNameRealFlags(t *testing.T) {
	root := newRootCommand(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv: func(string) string { return "" }, providers: newProviders()}, &runState{}, nil)
	paths := map[string][][]string{"send": {{"send"}}, "probe": {{"probe"}}, "cert": {{"cert", "verify"}, {"cert", "check"}}}
	flag := regexp.MustCompile(`--[a-z][a-z-]*`)
	rows := append(append([]flagHint{}, flagHints...), platformFlagHints()...)
	for _, h := range rows {
		if !strings.Contains(h.flags, "--") && !strings.HasPrefix(h.flags, "tlsmail ") {
			t.Errorf("%s %s: %q names no flag and no command", h.cmd, h.s, h.flags)
		}
		cmdPaths := paths[h.cmd]
		if cmdPaths == nil {
			t.Errorf("%s %s: no command %q", h.cmd, h.s, h.cmd)
			continue
		}
		if rest, ok := strings.CutPrefix(h.flags, "tlsmail "); ok {
			name, _, _ := strings.Cut(rest, " ")
			cmdPaths = [][]string{{name}}
		}
		for _, p := range cmdPaths {
			c, _, err := root.Find(p)
			if err != nil || c == root {
				t.Errorf("%s: no command %v: %v", h.cmd, p, err)
				continue
			}
			for _, f := range flag.FindAllString(h.flags, -1) {
				if c.Flags().Lookup(strings.TrimPrefix(f, "--")) == nil {
					t.Errorf("%s %s: %q names %s, which '%s' does not have", h.cmd, h.s, h.flags, f, c.CommandPath())
				}
			}
		}
	}
}

// TestFlagHintsByKind: the table gives each kind of error the flags of the
// command that ran; the same failure says --tls-name to send and --name to
// probe. Errors Linux cannot produce end to end (Schannel's status codes,
// TLS alerts) are built as the providers build them.
func TestFlagHintsByKind(t *testing.T) {
	hs := func(code uint32, err error) error {
		return &smtp.Error{Kind: smtp.KindTLSHandshake, Op: "TLS handshake", Fix: "the fix",
			Err: &secchan.HandshakeError{Provider: "p", Code: code, Fix: "the fix", Err: err}}
	}
	certErr := func(k trust.Kind) error {
		return &trust.Error{Report: trust.Report{Problems: []trust.Problem{{Kind: k, Severity: trust.SeverityError, Summary: "s", Fix: "the fix"}}}}
	}
	tests := []struct {
		name       string
		err        error
		send, prob string // the hint in parentheses, "" for none
	}{
		{"untrusted root", certErr(trust.KindUntrustedRoot), "--ca FILE", "--ca FILE"},
		{"self-signed", certErr(trust.KindSelfSigned), "--ca FILE; --pin sha256/...", "--ca FILE; --pin sha256/..."},
		{"name mismatch", certErr(trust.KindNameMismatch), "--tls-name NAME", "--name NAME"},
		{"revocation unknown", certErr(trust.KindRevocationUnknown), "--revocation off|soft|strict", "--revocation off|soft|strict"},
		{"expired (no setting)", certErr(trust.KindExpired), "", ""},
		{"schannel wrong principal", hs(0x80090322, errors.New("x")), "--tls-name NAME", "--name NAME"},
		{"schannel untrusted root", hs(0x80090325, errors.New("x")), "--ca FILE", "--ca FILE"},
		{"schannel no client certificate", hs(0x80090320, errors.New("x")), "--cert FILE and --key FILE", ""},
		{"schannel no common algorithm", hs(0x80090331, errors.New("x")), "tlsmail probe --versions", "--versions"},
		{"alert protocol version", hs(0, tls.AlertError(70)), "tlsmail probe --versions", "--versions"},
		{"alert certificate required", hs(0, tls.AlertError(116)), "--cert FILE and --key FILE", ""},
		{"alert unrecognized name", hs(0, tls.AlertError(112)), "--tls-name NAME", "--name NAME"},
		{"not TLS", hs(0, tls.RecordHeaderError{Msg: "x"}), "--tls starttls|implicit|none", "--tls starttls|implicit"},
		{"no STARTTLS offered", &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "STARTTLS", Fix: "the fix"}, "--tls implicit, or --tls none", "--tls implicit"},
		{"530 TLS first", &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "MAIL", Fix: "the fix"}, "--tls starttls or --tls implicit", "--tls starttls or --tls implicit"},
		{"host not found", &smtp.Error{Kind: smtp.KindNetwork, Op: "connect", Fix: "the fix"}, "--server HOST[:PORT]", ""},
		{"timeout", &smtp.Error{Kind: smtp.KindTimeout, Op: "greeting", Fix: "the fix"}, "--server HOST[:PORT]; --timeout DURATION", "--timeout DURATION"},
		{"silent greeting, timed out", &smtp.Error{Kind: smtp.KindTimeout, Op: "greeting", Fix: "the fix", Err: &smtp.SilentGreetingError{Waited: time.Second}},
			"--tls implicit; --server HOST[:PORT]; --timeout DURATION", "--tls implicit; --timeout DURATION"},
		{"silent greeting, closed", &smtp.Error{Kind: smtp.KindNetwork, Op: "greeting", Fix: "the fix", Err: &smtp.SilentGreetingError{Waited: time.Second, Closed: true}},
			"--tls implicit; --server HOST[:PORT]", "--tls implicit"},
		{"auth required", &smtp.Error{Kind: smtp.KindAuth, Op: "MAIL", Reply: &smtp.Reply{Code: 530}, Fix: "the fix"},
			"--user NAME with --password-env, --password-file or --password-cmd", ""},
		{"auth refused", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 535}, Fix: "the fix"},
			"--user NAME with --password-env, --password-file or --password-cmd; --auth MECH", ""},
		{"no AUTH offered", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 250}, Fix: "the fix"}, "--user", ""},
		{"auth 454 (temporary)", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 454}, Fix: "the fix"}, "", ""},
		{"bad EHLO name", &smtp.Error{Kind: smtp.KindConfig, Op: "EHLO", Fix: "the fix"}, "--ehlo NAME", "--ehlo NAME"},
		{"no sender", &message.InputError{Field: "from", Fix: "the fix"}, "--from ADDRESS", ""},
		{"no recipient", &message.InputError{Field: "to", Fix: "the fix"}, "--to, --cc or --bcc", ""},
		{"reserved header", &message.InputError{Field: `header "Subject"`, Fix: "the fix"}, "--subject", ""},
		{"no config file", &config.Error{Msg: "m", Fix: "the fix", Err: errors.New("x")}, "--config FILE or TLSMAIL_CONFIG", ""},
		{"bad config line", &config.Error{File: "f", Line: 3, Msg: "m", Fix: "the fix"}, "", ""},
		{"CA file unreadable", &submit.Error{Field: "ca_file", Fix: "the fix"}, "--ca FILE", "--ca FILE"},
		{"CA file without PEM", &submit.Error{Field: "ca", Fix: "the fix"}, "--ca FILE", "--ca FILE"},
		{"client certificate file", &submit.Error{Field: "cert_file", Fix: "the fix"}, "--cert FILE and --key FILE", ""},
		{"client key file", &submit.Error{Field: "key_file", Fix: "the fix"}, "--cert FILE and --key FILE", ""},
		{"client pair", &submit.Error{Field: "client_cert", Fix: "the fix"}, "--cert FILE and --key FILE", ""},
		{"secret file mode (no setting)", &submit.Error{Field: "secret_file_mode", Fix: "the fix"}, "", ""},
		{"password variable unset", &submit.Error{Field: "secret", Source: submit.SecretEnv, Secret: submit.SecretPassword, Fix: "the fix"}, "--password-env VAR", ""},
		{"password file missing", &submit.Error{Field: "secret_file", Source: submit.SecretFile, Secret: submit.SecretPassword, Fix: "the fix"}, "--password-file FILE", ""},
		{"password file not regular", &submit.Error{Field: "secret_file", Source: submit.SecretFile, Secret: submit.SecretPassword, Err: message.ErrNotRegular, Fix: "the fix"},
			"--password-file FILE; --password-cmd CMD", ""},
		{"password command failed", &submit.Error{Field: "secret_command", Source: submit.SecretCommand, Secret: submit.SecretPassword, Fix: "the fix"}, "--password-cmd CMD", ""},
		{"password command timed out", &submit.Error{Field: "secret_command", Source: submit.SecretCommand, Secret: submit.SecretPassword, Err: context.DeadlineExceeded, Fix: "the fix"},
			"--timeout DURATION", "--timeout DURATION"},
		{"password of a config account (no flag)", &submit.Error{Field: "secret_command", Source: submit.SecretConfig, Secret: submit.SecretPassword, Fix: "the fix"}, "", ""},
		{"rejected (no setting)", &smtp.Error{Kind: smtp.KindRejected, Op: "DATA", Reply: &smtp.Reply{Code: 554}, Fix: "the fix"}, "", ""},
	}
	for _, tc := range tests {
		for _, c := range []struct{ cmd, want string }{{"send", tc.send}, {"probe", tc.prob}} {
			f := hintFailure(c.cmd, classify(tc.err))
			want := "the fix"
			if c.want != "" {
				want += " (" + c.want + ")"
			}
			if f.fix != want {
				t.Errorf("%s, %s: fix %q, want %q", tc.name, c.cmd, f.fix, want)
			}
			for _, p := range f.problems {
				if p.Fix != want {
					t.Errorf("%s, %s: problem fix %q, want %q", tc.name, c.cmd, p.Fix, want)
				}
			}
		}
	}

	// A fix of the CLI's own that names a flag gets no second hint, and a
	// command without hints (queue run) leaves every fix as it is.
	own := &smtp.Error{Kind: smtp.KindTimeout, Op: "greeting", Fix: "add --tls implicit"}
	if f := hintFailure("send", classify(own)); f.fix != "add --tls implicit" {
		t.Errorf("own fix: %q", f.fix)
	}
	if f := hintFailure(hintCommand("tlsmail queue run"), classify(certErr(trust.KindUntrustedRoot))); f.fix != "the fix" {
		t.Errorf("queue run: %q", f.fix)
	}
}

// TestFlagHintsEndToEnd runs the commands against real servers on
// loopback: the fixes of the lower layers reach the user with the flag of
// the command that ran, in the text output and in --json (the fix fields,
// whose schema is unchanged).
func TestFlagHintsEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	noTLS := startServer(t, func(c *server.Config) { c.DisableSTARTTLS = true; c.SMTPSAddr = ""; c.Users = nil })
	plain := func(addr string, extra ...string) []string {
		return append([]string{"send", "--server", addr, "--from", "ann@example.com", "--to", "bob@example.org",
			"--subject", "s", "--body", "b", "--timeout", "30s"}, extra...)
	}
	s, err := testpki.NewBroken("name-mismatch")
	if err != nil {
		t.Fatal(err)
	}
	ca, chain, _, err := s.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the text fix and in the JSON fix
	}{
		{"send, untrusted root", plain(srv.SMTPAddr()), "(--ca FILE)"},
		{"send, name mismatch", baseSend(srv.SMTPSAddr(), srv.CAFile(), "--tls", "implicit", "--tls-name", "mail.example.com"), "(--tls-name NAME)"},
		{"probe, name mismatch", []string{"probe", "--tls", "implicit", "--ca", srv.CAFile(), "--name", "mail.example.com", srv.SMTPSAddr()}, "(--name NAME)"},
		{"cert verify, name mismatch", []string{"cert", "verify", "--ca", ca, "--name", s.Name, chain}, "(--name NAME)"},
		{"send, no STARTTLS", plain(noTLS.SMTPAddr()), "(--tls implicit, or --tls none)"},
		{"send, implicit TLS to a plain port", baseSend(srv.SMTPAddr(), srv.CAFile(), "--tls", "implicit"), "(--tls starttls|implicit|none)"},
		{"send, host not found", plain("no-such-host.invalid"), "(--server HOST[:PORT])"},
		{"send, wrong password", baseSend(srv.SMTPAddr(), srv.CAFile(), "--password-cmd", "echo wrong", "--password-env", ""),
			"(--user NAME with --password-env, --password-file or --password-cmd; --auth MECH)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli{args: tc.args, env: authEnv()}.run(t)
			if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "fix: ") || !strings.Contains(r.stderr+r.stdout, tc.want) {
				t.Errorf("text output lacks a fix with %q:\n%s", tc.want, r)
			}
			if strings.Contains(r.stderr+r.stdout, "--tls-name with send") {
				t.Errorf("the old fix text is back:\n%s", r)
			}
			rj := cli{args: append(append([]string{}, tc.args...), "--json"), env: authEnv()}.run(t)
			var fixes []string
			collectFixes(t, rj.stdout, &fixes)
			found := false
			for _, f := range fixes {
				found = found || strings.Contains(f, tc.want)
			}
			if !found {
				t.Errorf("no JSON fix has %q: %q\n%s", tc.want, fixes, rj)
			}
		})
	}
}

// collectFixes gathers every "fix" string of the JSON object in out.
func collectFixes(t *testing.T, out string, fixes *[]string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "fix" {
					*fixes = append(*fixes, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// TestProbeTranscriptNotesBadChain: probe goes on past an untrusted chain
// to show it, and its transcript says so in its own words; the provider's
// line (which once named --insecure, a flag probe does not have) is
// rewritten by package probe (Config.logf), which matches the provider's text.
func TestProbeTranscriptNotesBadChain(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r := runTLSMail(t, "probe", "--transcript", "-", "--name", "localhost", srv.SMTPAddr())
	if r.code != exitProblems {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitProblems, r)
	}
	if !strings.Contains(r.stderr, "certificate problems noted (probe completes the handshake") || strings.Contains(r.stderr, "ignored") {
		t.Errorf("transcript does not note the bad chain in probe's words:\n%s", r.stderr)
	}
}

// TestCertErrorSettings: a client certificate Windows cannot open from a
// PFX file asks for the PFX flags, one from a store for the store flags
// (platformSettings on Windows reads schannel.CertError.Where, which
// submit sets to "PFX file " and the file's path).
func TestCertErrorSettings(t *testing.T) {
	tests := []struct {
		where string
		want  setting
	}{
		{"PFX file", setPFX},
		{`PFX file C:\certs\client.pfx`, setPFX},
		{`CurrentUser\MY`, setCertStore},
		{`LocalMachine\MY`, setCertStore},
	}
	for _, tc := range tests {
		if got := certErrorSettings(tc.where); len(got) != 1 || got[0] != tc.want {
			t.Errorf("certErrorSettings(%q) = %v, want [%s]", tc.where, got, tc.want)
		}
	}
}
