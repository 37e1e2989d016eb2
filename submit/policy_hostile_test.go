package submit

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// refusedFor reports whether err is a shared item's refusal (an *Error of
// Field "queued_settings", with a fix) whose message names want.
func refusedFor(err error, want string) bool {
	var e *Error
	return errors.As(err, &e) && e.Field == "queued_settings" && strings.Contains(e.Msg, want) && e.Fix != ""
}

// writePKIFiles makes a fresh PKI for localhost and writes its CA, leaf
// chain and key into dir, returning their paths.
func writePKIFiles(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile, err = p.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, certFile, keyFile
}

// TestSharedItemConfigFileShowsNoContent: a shared queue's row chooses the
// configuration file its account is read from, and any file of the
// runner's user passes the owner check: a password file, a key, a token.
// Parsed as a configuration, its first line is an "unknown command", and
// that error (the item's deferral, stored in the queue, shown by 'queue
// list', written to the runner's output) must not repeat the file's
// content. Before, it said "unknown command hunter2pw".
func TestSharedItemConfigFileShowsNoContent(t *testing.T) {
	dir := testdir.New(t)
	pw := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pw, []byte("hunter2pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	ctx := context.Background()
	a := &Account{ConfigFile: pw, Name: "work", Host: "127.0.0.1",
		Auth: Auth{User: "alice", Mechanism: "AUTO", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
	_, err := c.Plan(ctx, a)
	if err == nil {
		t.Fatal("Plan accepted a password file as the item's configuration file")
	}
	if strings.Contains(err.Error(), "hunter2pw") {
		t.Errorf("Plan's error shows the file's content: %v", err)
	}
	if !strings.Contains(err.Error(), pw) {
		t.Errorf("Plan's error does not name the file: %v", err)
	}
	// The log settings are checked against the same file.
	a = &Account{ConfigFile: pw, Name: "work", Host: "127.0.0.1", Log: Log{File: filepath.Join(dir, "log")}}
	if _, err := c.ItemLog(ctx, a); err == nil || strings.Contains(err.Error(), "hunter2pw") {
		t.Errorf("ItemLog: %v; want an error without the file's content", err)
	}
}

// TestSharedItemClientCertificateIsTheAccounts: the runner's client
// certificate and key are a credential as its password is (a server that
// takes the certificate relays the mail), so a shared queue's row must not
// present them to a server, or with a verification, of its choosing. A row
// may name them only as the configuration account it names has them, and
// then only with that account's server and trust. Before, a row with no
// user at all was never checked: Plan loaded the runner's key for any
// host, verification off.
func TestSharedItemClientCertificateIsTheAccounts(t *testing.T) {
	dir := testdir.New(t)
	caFile, certFile, keyFile := writePKIFiles(t, dir)
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	_, otherCert, otherKey := writePKIFiles(t, other)
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte("account relay\nhost mail.example.org\nport 587\ntls on\ntls_starttls on\ntls_trust_file "+caFile+
		"\ntls_cert_file "+certFile+"\ntls_key_file "+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	relay := func(change func(a *Account)) *Account {
		a := &Account{ConfigFile: cfg, Name: "relay", ConfigHost: "mail.example.org", Host: "mail.example.org", Port: 587,
			Mode: smtp.StartTLS, Trust: Trust{CAFile: caFile}, Client: ClientIdentity{CertFile: certFile, KeyFile: keyFile}}
		if change != nil {
			change(a)
		}
		return a
	}
	tests := []struct {
		name string
		a    *Account
		want string // "" accepted, else a part of the refusal
	}{
		{"the account as it is", relay(nil), ""},
		{"no account, another server, no verification", &Account{Host: "evil.example", Port: 25, Mode: smtp.None, Trust: Trust{Insecure: true},
			Client: ClientIdentity{CertFile: certFile, KeyFile: keyFile}}, "names no configuration account"},
		{"the account's certificate to another server", relay(func(a *Account) { a.Host = "evil.example" }), "host evil.example"},
		{"the account's certificate, verification off", relay(func(a *Account) { a.Trust.Insecure = true }), "certificate check off"},
		{"another certificate of the runner", relay(func(a *Account) { a.Client = ClientIdentity{CertFile: otherCert, KeyFile: otherKey} }), "client certificate " + otherCert},
		{"the certificate with another key", relay(func(a *Account) { a.Client.KeyFile = otherKey }), "client key " + otherKey},
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	for _, tt := range tests {
		pl, err := c.Plan(context.Background(), tt.a)
		if tt.want == "" {
			if err != nil || len(pl.Config.TLS.Certificates) != 1 {
				t.Errorf("%s: Plan: %v; want the account's certificate", tt.name, err)
			}
			continue
		}
		if !refusedFor(err, tt.want) {
			t.Errorf("%s: Plan: %v, %v; want a queued_settings refusal naming %q", tt.name, pl != nil, err, tt.want)
		}
	}
}

// TestSharedItemKeepsTheAccountsMechanism: a row that takes a configuration
// account's password must log in the account's way: an account that says
// SCRAM-SHA-256 or CRAM-MD5 keeps its password from the server itself, and
// a row saying PLAIN (or XOAUTH2, the password sent as a token) would hand
// it over. Before, the mechanism was not compared.
func TestSharedItemKeepsTheAccountsMechanism(t *testing.T) {
	dir := testdir.New(t)
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte("account work\nhost mail.example.org\nport 587\ntls on\nauth scram-sha-256\nuser alice\npassword s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	for _, tt := range []struct{ mech, want string }{
		{"SCRAM-SHA-256", ""},
		{"scram-sha-256", ""},
		{"PLAIN", "auth mechanism PLAIN (the account: SCRAM-SHA-256)"},
		{"AUTO", "auth mechanism AUTO"},
		{"XOAUTH2", "auth mechanism XOAUTH2"},
	} {
		a := &Account{ConfigFile: cfg, Name: "work", ConfigHost: "mail.example.org", Host: "mail.example.org", Port: 587,
			Auth: Auth{User: "alice", Mechanism: tt.mech, Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
		_, err := c.Plan(context.Background(), a)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Plan: %v; want the account's own mechanism accepted", tt.mech, err)
			}
			continue
		}
		if !refusedFor(err, tt.want) {
			t.Errorf("%s: Plan: %v; want a queued_settings refusal naming %q", tt.mech, err, tt.want)
		}
	}
}

// TestSharedItemTimeoutIsBounded: the item's timeout bounds each network
// step, and a runner's lease on an item is renewed while its delivery
// runs: a row with a timeout of years and a server that accepts and never
// answers would hold a delivery slot of every runner that claims it until
// the runner is killed (--parallel such rows stop the queue). A shared
// item's timeout is at most maxSharedTimeout (RFC 5321 section 4.5.3.2's
// longest, 10 minutes), shortened rather than refused: an account whose
// own timeout is longer still delivers (refused before, forever).
func TestSharedItemTimeoutIsBounded(t *testing.T) {
	for _, tt := range []struct {
		d, want time.Duration
	}{
		{0, smtp.DefaultTimeout},
		{5 * time.Minute, 5 * time.Minute},
		{maxSharedTimeout, maxSharedTimeout},
		{maxSharedTimeout + time.Second, maxSharedTimeout},
		{math.MaxInt64, maxSharedTimeout},
	} {
		a := &Account{Host: "relay.example.org", Port: 25, Mode: smtp.None, Timeout: tt.d}
		p, err := (&Connector{Policy: ItemPolicy{Shared: true}}).Plan(context.Background(), a)
		if err != nil || p.Config.Timeout != tt.want {
			t.Errorf("timeout %v, shared: Plan = %v, %v; want the timeout %v (an account's own long timeout is shortened, not refused)", tt.d, p, err, tt.want)
			continue
		}
		// The runner's own items keep their timeout.
		if p, err := (&Connector{}).Plan(context.Background(), a); err != nil || (tt.d > 0 && p.Config.Timeout != tt.d) {
			t.Errorf("timeout %v, not shared: Plan = %v, %v", tt.d, p, err)
		}
	}
}

// TestSharedItemHostNameFoldsASCIIOnly: a host name is compared without
// regard to ASCII case (RFC 4343), and only that: strings.EqualFold also
// folds the Kelvin sign U+212A into k and the long s U+017F into s, so a
// row naming "smtp.\u212Aernel.org" took the password of the account of
// smtp.kernel.org to a name that is not its (and resolves, if anywhere,
// elsewhere). Before, it was accepted.
func TestSharedItemHostNameFoldsASCIIOnly(t *testing.T) {
	dir := testdir.New(t)
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte("account work\nhost smtp.kernel.org\nport 587\ntls on\ntls_host_override mx.kernel.org\nauth on\nuser alice\npassword s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	for _, tt := range []struct{ host, tlsName, want string }{
		{"smtp.kernel.org", "mx.kernel.org", ""},
		{"SMTP.Kernel.ORG", "MX.kernel.org", ""},
		{"smtp.\u212Aernel.org", "mx.kernel.org", "host smtp.\u212Aernel.org"},
		{"smtp.kernel.org", "mx.\u212Aernel.org", "TLS name mx.\u212Aernel.org"},
	} {
		a := &Account{ConfigFile: cfg, Name: "work", ConfigHost: "smtp.kernel.org", Host: tt.host, Port: 587, Trust: Trust{ServerName: tt.tlsName},
			Auth: Auth{User: "alice", Mechanism: "AUTO", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
		_, err := c.Plan(context.Background(), a)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s / %s: Plan: %v", tt.host, tt.tlsName, err)
			}
			continue
		}
		if !refusedFor(err, tt.want) {
			t.Errorf("%s / %s: Plan: %v; want a queued_settings refusal naming %q", tt.host, tt.tlsName, err, tt.want)
		}
	}
	// netrc: the TLS name must be the host's own, in ASCII case only.
	a := &Account{Host: "smtp.kernel.org", Port: 587, Trust: Trust{ServerName: "smtp.\u212Aernel.org"},
		Auth: Auth{User: "alice", Mechanism: "AUTO", Secret: SecretRef{Source: SecretNetrc}}}
	if _, err := c.Plan(context.Background(), a); err == nil || !strings.Contains(err.Error(), "verifies the certificate for") {
		t.Errorf("netrc with a Kelvin-sign TLS name: Plan: %v; want it refused", err)
	}
}

// TestSharedItemNetrcKeepsRevocation: a netrc password goes only over TLS
// verified as the system would, and a row turning the revocation check
// off weakens that as a CA file of its own would (a revoked certificate of
// the host, with its key, would take the password). Before, it was
// accepted.
func TestSharedItemNetrcKeepsRevocation(t *testing.T) {
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	for _, tt := range []struct {
		mode trust.RevocationMode
		ok   bool
	}{{"", true}, {trust.RevocationSoft, true}, {trust.RevocationStrict, true}, {trust.RevocationOff, false}} {
		a := &Account{Host: "smtp.example.org", Port: 587, Trust: Trust{Revocation: tt.mode},
			Auth: Auth{User: "alice", Mechanism: "AUTO", Secret: SecretRef{Source: SecretNetrc}}}
		_, err := c.Plan(context.Background(), a)
		if tt.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "revocation")) {
			t.Errorf("netrc, revocation %q: Plan: %v; want accepted %v", tt.mode, err, tt.ok)
		}
	}
}

// TestSharedItemClientCertificateFileOptIn: --queue-secrets file, the
// runner's word that every host writing the queue may have it read any
// file, covers the client certificate's files as it does a password
// file: a row naming them (send --queue --cert-file on an application
// host) is read as the spool's are. A certificate store entry is no file
// and stays refused.
func TestSharedItemClientCertificateFileOptIn(t *testing.T) {
	dir := testdir.New(t)
	_, certFile, keyFile := writePKIFiles(t, dir)
	a := &Account{Host: "relay.example.org", Port: 587, Client: ClientIdentity{CertFile: certFile, KeyFile: keyFile}}
	c := &Connector{Policy: ItemPolicy{Shared: true, Secrets: []SecretSource{SecretFile}}}
	if pl, err := c.Plan(context.Background(), a); err != nil || len(pl.Config.TLS.Certificates) != 1 {
		t.Errorf("file opted in: Plan: %v; want the certificate loaded", err)
	}
	c.Policy.Secrets = []SecretSource{SecretEnv, SecretCommand}
	if _, err := c.Plan(context.Background(), a); err == nil {
		t.Errorf("env and command opted in: Plan accepted the client certificate files")
	}
	c.Policy.Secrets = []SecretSource{SecretFile}
	store := &Account{Host: "relay.example.org", Port: 587, Provider: "schannel", Client: ClientIdentity{Store: "MY", Thumbprint: "00"}}
	var e *Error
	if _, err := c.Plan(context.Background(), store); !errors.As(err, &e) || e.Field != "queued_settings" {
		t.Errorf("file opted in, a certificate store entry: Plan: %v; want it refused", err)
	}
}

// TestSharedItemOAuthTokenSources: an OAuth 2.0 access token (OAUTHBEARER,
// XOAUTH2) is the Account's password: a shared item's token sources follow
// the password's rule (env, file and command refused without the opt-in,
// none of them read). A regression guard: this held before.
func TestSharedItemOAuthTokenSources(t *testing.T) {
	dir := testdir.New(t)
	marker := filepath.Join(dir, "ran")
	c := &Connector{Policy: ItemPolicy{Shared: true}, Getenv: func(string) string { t.Error("an environment variable was read"); return "" }}
	for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
		for _, r := range []SecretRef{{Source: SecretEnv, Ref: "TOKEN"}, {Source: SecretFile, Ref: filepath.Join(dir, "token")},
			{Source: SecretCommand, Ref: "touch " + marker + "; echo tok"}} {
			a := &Account{Host: "smtp.example.org", Port: 587, Auth: Auth{User: "alice@example.org", Mechanism: mech, Secret: r}}
			p, err := c.Plan(context.Background(), a)
			var e *Error
			if !errors.As(err, &e) || e.Field != "queued_settings" || e.Source != r.Source {
				t.Errorf("%s from %s: Plan: %v, %v; want it refused", mech, r.Source, p != nil, err)
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the token command ran")
	}
}

// TestCRLCacheOneParsePerFile: a shared queue's row chooses its crl_file
// (no secret needs it), and one file has endless names ("d/crl.pem",
// "d/./crl.pem", "d//crl.pem", ...): the cache must not parse and keep a
// copy per name (a 16 MiB CRL is kept at up to twice its size; a few
// hundred rows would take gigabytes of a long-running worker), nor keep
// names without bound. Before, each name was parsed and kept.
func TestCRLCacheOneParsePerFile(t *testing.T) {
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := testdir.New(t)
	path := filepath.Join(dir, "crl.pem")
	past := time.Now().Add(-time.Hour)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: past,
		NextUpdate: time.Now().Add(time.Hour)}, p.Intermediate.Cert, p.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	cache := &CRLCache{}
	c := &Connector{CRLCache: cache, Policy: ItemPolicy{Shared: true}}
	const names = 3 * maxCRLPaths
	for i := range names {
		name := dir + strings.Repeat("/.", i) + "/crl.pem"
		a := &Account{Host: "relay.example.org", Port: 587, Trust: Trust{CRLFile: name}}
		pl, err := c.Plan(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Config.TLS.Trust.CRLs) != 1 {
			t.Fatalf("%s: %d CRLs, want 1", name, len(pl.Config.TLS.Trust.CRLs))
		}
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.parses != 1 || len(cache.m) > maxCRLPaths {
		t.Errorf("%d names of one file: %d parses (want 1), %d names kept (want at most %d)", names, cache.parses, len(cache.m), maxCRLPaths)
	}
}

// TestSharedItemGenuineAccountPasses: what the fixes above refuse must not
// include a genuine item: one queued from a configuration account with a
// client certificate, a SASL mechanism, a CRL file and a timeout, read
// back from its stored JSON, is accepted by a runner with the same file.
func TestSharedItemGenuineAccountPasses(t *testing.T) {
	dir := testdir.New(t)
	caFile, certFile, keyFile := writePKIFiles(t, dir)
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte("account work\nhost Mail.Example.org\nport 465\ntls on\ntls_starttls off\ntls_trust_file "+caFile+
		"\ntls_cert_file "+certFile+"\ntls_key_file "+keyFile+"\nauth cram-md5\nuser alice\npassword s3cret\ntimeout 120\nlogfile "+filepath.Join(dir, "log")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(context.Background(), cfg, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := f.Account("work")
	if err != nil {
		t.Fatal(err)
	}
	a, err := FromConfig(cfg, ca)
	if err != nil {
		t.Fatal(err)
	}
	stored := a.Stored()
	b, err := json.Marshal(&stored)
	if err != nil {
		t.Fatal(err)
	}
	var back Account
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	if _, err := c.Plan(context.Background(), &back); err != nil {
		t.Errorf("the genuine item is refused: %v", err)
	}
	if _, err := c.ItemLog(context.Background(), &back); err != nil {
		t.Errorf("the genuine item's log is refused: %v", err)
	}
}

// TestSharedItemKeepsTheAccountsProvider: the TLS provider decides which
// verifier runs (Schannel: the Windows roots and crypt32's revocation
// check; crypto/tls: package trust with the account's CA file, CRL and
// OCSP), so a row that takes a configuration account's password with
// another provider than the account's would have the password sent over a
// connection verified another way than the account says. "" on either
// side is the default, "go". Before, the provider was not compared: the
// rows naming another provider went on to the provider lookup (or, where
// it is registered, to the connection).
func TestSharedItemKeepsTheAccountsProvider(t *testing.T) {
	dir := testdir.New(t)
	write := func(name, extra string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte("account work\nhost mail.example.org\nport 587\ntls on\nauth plain\nuser alice\npassword s3cret\n"+extra), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	unset, goTLS, schannel := write("unset", ""), write("go", "tls_provider go\n"), write("schannel", "tls_provider schannel\n")
	tests := []struct {
		cfg, provider string
		want          string // "" accepted, else a part of the refusal
	}{
		{unset, "", ""},
		{unset, "go", ""},
		{goTLS, "", ""},
		{goTLS, "go", ""},
		{schannel, "schannel", ""},
		{unset, "schannel", "TLS provider schannel (the account: go)"},
		{goTLS, "schannel", "TLS provider schannel (the account: go)"},
		{schannel, "", "TLS provider go (the account: schannel)"},
		{schannel, "go", "TLS provider go (the account: schannel)"},
		{unset, "Go", "TLS provider Go (the account: go)"},
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	for _, tt := range tests {
		a := &Account{ConfigFile: tt.cfg, Name: "work", ConfigHost: "mail.example.org", Host: "mail.example.org", Port: 587,
			Mode: smtp.StartTLS, Provider: tt.provider,
			Auth: Auth{User: "alice", Mechanism: "PLAIN", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
		err := c.checkShared(context.Background(), a)
		name := filepath.Base(tt.cfg) + "/" + tt.provider
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: checkShared: %v; want the account's own provider accepted", name, err)
			}
			continue
		}
		if !refusedFor(err, tt.want) {
			t.Errorf("%s: checkShared: %v; want a queued_settings refusal naming %q", name, err, tt.want)
		}
		// Plan refuses it the same way, before the provider is looked up.
		if _, err := c.Plan(context.Background(), a); !refusedFor(err, tt.want) {
			t.Errorf("%s: Plan: %v; want a queued_settings refusal naming %q", name, err, tt.want)
		}
	}
}
