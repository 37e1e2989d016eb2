package config

import (
	"context"
	"strings"
	"testing"
)

// A refused command set on the command line (Override: msmtp's
// --tls-priorities=x, --source-ip=...) is not reported at the account's
// line of the file, as if the file had it: the file has no such line.
func TestOverrideRefusedNotBlamedOnFile(t *testing.T) {
	f, err := Parse(context.Background(), "rc", strings.NewReader("account default\nhost mail.example.org\ntls_trust_file system\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []Override{{"tls_priorities", "NORMAL"}, {"source_ip", "192.0.2.1"}, {"tls_min_dh_prime_bits", "2048"}} {
		a := f.Accounts[0].Clone()
		if err := a.Override(kv.Key, kv.Arg, ""); err != nil {
			t.Fatalf("%s: %v", kv.Key, err)
		}
		err := a.Check()
		if err == nil {
			t.Fatalf("%s %s: not refused", kv.Key, kv.Arg)
		}
		if msg := err.Error(); strings.Contains(msg, "rc:") || !strings.Contains(msg, "command line") {
			t.Errorf("%s from the command line: %q (names a line of the file, or not the command line)", kv.Key, msg)
		}
	}
	// Set in the file, it is reported at its line.
	f, err = Parse(context.Background(), "rc", strings.NewReader("account default\nhost mail.example.org\ntls_trust_file system\ntls_priorities NORMAL\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Accounts[0].Check(); err == nil || !strings.Contains(err.Error(), "rc:4") {
		t.Errorf("set in the file: %v, want it at rc:4", err)
	}
}
