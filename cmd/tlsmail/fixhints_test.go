package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testnoflag"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/trust"
)

// TestNoFlagCommandsAreTheCLIs: the commands internal/testnoflag looks for
// in the lower layers' texts ("tlsmail cert verify") are this CLI's, with
// cobra's help and completion; a command added here without being added
// there fails.
func TestNoFlagCommandsAreTheCLIs(t *testing.T) {
	var have []string
	for _, c := range subcommands {
		have = append(have, c.name)
	}
	have = append(have, "help", "completion")
	slices.Sort(have)
	want := testnoflag.Commands()
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("the CLI's commands are %q, testnoflag.Commands %q", have, want)
	}
}

// TestInspectHints: the lower layers say "inspect the server's certificate
// chain" or "copy it from the server's certificate report"; the CLI adds
// the command that shows it to send, and nothing to probe (whose own output
// is that report) or cert.
func TestInspectHints(t *testing.T) {
	certErr := func(k trust.Kind) error {
		return &trust.Error{Report: trust.Report{Problems: []trust.Problem{{Kind: k, Severity: trust.SeverityError, Summary: "s", Fix: "the fix"}}}}
	}
	tests := []struct {
		name             string
		err              error
		send, prob, cert string
	}{
		{"malformed chain", certErr(trust.KindMalformed), "tlsmail probe HOST[:PORT]", "", ""},
		{"pin mismatch", certErr(trust.KindPinMismatch), "--pin sha256/...; tlsmail probe HOST[:PORT]", "--pin sha256/...", "--pin sha256/..."},
		{"tls_fingerprint", &config.Error{File: "f", Line: 3, Key: "tls_fingerprint", Msg: "m", Fix: "the fix"}, "tlsmail probe HOST[:PORT]", "", ""},
	}
	for _, tc := range tests {
		for _, c := range []struct{ cmd, want string }{{"send", tc.send}, {"probe", tc.prob}, {"cert", tc.cert}} {
			want := "the fix"
			if c.want != "" {
				want += " (" + c.want + ")"
			}
			if f := hintFailure(c.cmd, classify(tc.err)); f.fix != want {
				t.Errorf("%s, %s: fix %q, want %q", tc.name, c.cmd, f.fix, want)
			}
		}
	}
}

// TestQueueNoSchemaFix: pgqueue's fix for a database without the queue
// schema names its Go function (pgqueue.Migrate); the CLI says which
// command makes the schema, and it stays a configuration error (78).
func TestQueueNoSchemaFix(t *testing.T) {
	err := &pgqueue.Error{Op: "open", Err: pgqueue.ErrNoSchema, Msg: "no schema", Fix: "create or migrate the queue schema with pgqueue.Migrate"}
	xe := queueError(err)
	if !strings.Contains(xe.fix, "'tlsmail queue init'") || strings.Contains(xe.fix, "pgqueue.Migrate") {
		t.Errorf("fix %q: want the queue init command, not the Go function", xe.fix)
	}
	if xe.code != exitConfig {
		t.Errorf("code %d, want %d", xe.code, exitConfig)
	}
	// Another outbox failure keeps the outbox's own fix.
	other := queueError(&outbox.Error{Op: "open", Err: errors.New("x"), Msg: "m", Fix: "the outbox's fix"})
	if other.fix != "the outbox's fix" {
		t.Errorf("other fix %q", other.fix)
	}
}
