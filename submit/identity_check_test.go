package submit

import (
	"errors"
	"strings"
	"testing"
)

// TestClientIdentityCheck: Account.Check refuses, before any file is read,
// a client certificate given twice, a PFX password without its file, a key
// file without its certificate (Plan ignored it: the connection went out
// without a client certificate) and a
// certificate store entry that cannot be picked (the checks tlsmail's
// command line made on its Windows flags), each an *Error whose Field says
// which part of the identity to change.
func TestClientIdentityCheck(t *testing.T) {
	pw := SecretRef{Source: SecretEnv, Ref: "PFX_PW"}
	tests := []struct {
		name     string
		id       ClientIdentity
		provider string
		field    string // "" for no error
		msg      string
	}{
		{"PEM files", ClientIdentity{CertFile: "c.pem", KeyFile: "k.pem"}, "", "", ""},
		{"PFX with password", ClientIdentity{PFXFile: "c.pfx", PFXPassword: pw}, "", "", ""},
		{"store by thumbprint", ClientIdentity{Store: "MY", Thumbprint: "AB"}, "schannel", "", ""},
		{"store by subject, LocalMachine", ClientIdentity{Store: `LocalMachine\MY`, Subject: "ann"}, "schannel", "", ""},
		{"PFX password without file", ClientIdentity{PFXPassword: pw}, "", "pfx", "without a PFX file"},
		{"key without certificate", ClientIdentity{KeyFile: "k.pem"}, "", "key_file", "a client key file without its certificate"},
		{"PFX and store", ClientIdentity{PFXFile: "c.pfx", Store: "MY", Thumbprint: "AB"}, "schannel", "client_cert", "PFX file and a certificate store"},
		{"PFX and PEM", ClientIdentity{PFXFile: "c.pfx", CertFile: "c.pem"}, "", "client_cert", "PEM client certificate and a PFX file"},
		{"store and PEM", ClientIdentity{CertFile: "c.pem", Thumbprint: "AB"}, "schannel", "client_cert", "PEM client certificate and a certificate store"},
		{"store without a pick", ClientIdentity{Store: "MY"}, "schannel", "cert_store", "thumbprint or a subject"},
		{"store with two picks", ClientIdentity{Thumbprint: "AB", Subject: "ann"}, "schannel", "cert_store", "both a thumbprint and a subject"},
		{"store with the go provider", ClientIdentity{Thumbprint: "AB"}, "", "provider", `schannel provider only (not "go")`},
		{"store location unknown", ClientIdentity{Store: `Elsewhere\MY`, Thumbprint: "AB"}, "schannel", "cert_store", "CurrentUser or LocalMachine"},
		{"store name empty", ClientIdentity{Store: `LocalMachine\`, Thumbprint: "AB"}, "schannel", "cert_store", "names no store"},
	}
	for _, tc := range tests {
		a := &Account{Host: "h", Client: tc.id, Provider: tc.provider}
		err := a.Check()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v, want none", tc.name, err)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Msg, tc.msg) || se.Fix == "" {
			t.Errorf("%s: %v, want an *Error of Field %q with %q and a fix", tc.name, err, tc.field, tc.msg)
		}
	}
}

// TestPlanReadsNoSecret: Plan resolves an account whose password comes
// from a command without running it (a command that would fail is not
// run); Authenticate runs it. (The PFX password: TestPlanReadsNoPFXPassword,
// on Windows.)
func TestPlanReadsNoSecret(t *testing.T) {
	a := &Account{Host: "h", Port: 587,
		Auth: Auth{User: "u", Mechanism: "PLAIN", Secret: SecretRef{Source: SecretCommand, Ref: "exit 7"}}}
	p, err := (&Connector{}).Plan(t.Context(), a)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if p.Authenticate == nil {
		t.Fatal("Plan of an account with a user has no Authenticate")
	}
	var se *Error
	if err := p.Authenticate(t.Context()); !errors.As(err, &se) || se.Field != "secret_command" {
		t.Errorf("Authenticate: %v, want the command's failure", err)
	}
}
