//go:build windows

package schannel_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// testMessage is a message that exercises the data path: a line that must be
// dot-stuffed, a lone "." line inside the body, a long line, and a body
// larger than several TLS records (Schannel's maximum record is 16 KB).
func testMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: through Schannel\r\n\r\n")
	b.WriteString(".a line that starts with a dot\r\n.\r\n..two dots\r\n")
	b.WriteString(strings.Repeat("x", 990) + "\r\n")
	for i := 0; b.Len() < 48<<10; i++ {
		fmt.Fprintf(&b, "line %05d: the quick brown fox jumps over the lazy dog\r\n", i)
	}
	b.WriteString("end\r\n")
	return b.Bytes()
}

// TestSMTPSend sends through package smtp with the Schannel provider into
// the embedded server, over STARTTLS and implicit TLS, with AUTH and with a
// client certificate, and checks that the stored message is byte-exact and
// that the server saw the TLS session the client reports.
func TestSMTPSend(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	clientCert := f.ClientLeaf.TLSCertificate()
	cases := []struct {
		name     string
		mode     smtp.TLSMode
		auth     bool
		cert     bool
		tlsName  string
		wantSNI  string
		listener string
	}{
		{name: "starttls", mode: smtp.StartTLS, tlsName: "localhost", wantSNI: "localhost", listener: "smtp"},
		{name: "implicit", mode: smtp.Implicit, tlsName: "localhost", wantSNI: "localhost", listener: "smtps"},
		{name: "starttls-auth", mode: smtp.StartTLS, auth: true, listener: "smtp"},
		{name: "implicit-auth", mode: smtp.Implicit, auth: true, listener: "smtps"},
		{name: "starttls-client-cert", mode: smtp.StartTLS, cert: true, tlsName: "localhost", wantSNI: "localhost", listener: "smtp"},
		{name: "implicit-client-cert", mode: smtp.Implicit, cert: true, listener: "smtps"},
	}
	msg := testMessage()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			scfg := server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: tempDir(t)}
			if c.auth {
				scfg.Users = map[string]string{"alice": "s3cret pass"}
			}
			if c.cert {
				scfg.ClientCAs = f.ClientRoot.Pool()
				scfg.RequireClientCert = true
			}
			srv, err := server.Start(ctx, scfg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr := srv.SMTPAddr()
			if c.mode == smtp.Implicit {
				addr = srv.SMTPSAddr()
			}
			tcfg := &secchan.Config{ServerName: c.tlsName, Logf: t.Logf}
			tcfg.Trust.Roots = srv.CAPool()
			tcfg.Trust.Revocation = trust.RevocationOff
			if c.cert {
				tcfg.Certificates = []tls.Certificate{clientCert}
			}
			ccfg := &smtp.Config{Mode: c.mode, Provider: schannel.Provider{}, TLS: tcfg, LocalName: "client.example", Timeout: 30 * time.Second}
			if c.auth {
				ccfg.Auth = &smtp.Auth{Username: "alice", Password: "s3cret pass"}
			}
			cl, err := smtp.Dial(ctx, addr, ccfg)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer cl.Close()
			st, ok := cl.TLS()
			if !ok || st.Provider != "schannel" || !st.Verified {
				t.Fatalf("TLS() = %+v, %v; want a verified Schannel session", st, ok)
			}
			env := smtp.Envelope{From: "alice@example.org", To: []string{"bob@example.org", "carol@example.org"}, Size: int64(len(msg))}
			res, err := cl.Send(ctx, env, bytes.NewReader(msg))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(res.Accepted) != 2 || res.Response == nil || res.Response.Code != 250 {
				t.Errorf("Send = %+v; want both recipients accepted with 250", res)
			}
			if err := cl.Quit(ctx); err != nil {
				t.Errorf("Quit: %v", err)
			}
			got, err := srv.Wait(ctx, 1)
			if err != nil {
				t.Fatalf("the server stored nothing: %v", err)
			}
			m := got[0]
			data, err := m.Data()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, msg) {
				t.Errorf("stored %d bytes, sent %d; first difference at byte %d", len(data), len(msg), firstDiff(data, msg))
			}
			if m.From != env.From || strings.Join(m.To, ",") != strings.Join(env.To, ",") {
				t.Errorf("stored envelope %s -> %v; want %s -> %v", m.From, m.To, env.From, env.To)
			}
			if m.Listener != c.listener || m.TLS == nil {
				t.Fatalf("stored listener %q, TLS %+v; want %q over TLS", m.Listener, m.TLS, c.listener)
			}
			if m.TLS.STARTTLS != (c.mode == smtp.StartTLS) {
				t.Errorf("server saw STARTTLS = %v in mode %s", m.TLS.STARTTLS, c.mode)
			}
			if m.TLS.VersionID != st.Version {
				t.Errorf("server negotiated %s, the client reports %s", m.TLS.Version, secchan.VersionName(st.Version))
			}
			if m.TLS.ServerName != c.wantSNI {
				t.Errorf("server saw SNI %q, want %q (none for an IP address, RFC 6066 section 3)", m.TLS.ServerName, c.wantSNI)
			}
			if c.auth && m.AuthUser != "alice" {
				t.Errorf("stored AuthUser %q, want alice", m.AuthUser)
			}
			wantSubject := ""
			if c.cert {
				wantSubject = f.ClientLeaf.Cert.Subject.String()
			}
			if m.TLS.ClientCertSubject != wantSubject {
				t.Errorf("server saw client certificate %q, want %q", m.TLS.ClientCertSubject, wantSubject)
			}
		})
	}
}

// TestSMTPRefused checks that a server whose chain is broken is refused by
// smtp.Dial with the Schannel provider, over STARTTLS and implicit TLS, with
// a *trust.Error naming the kind, and that nothing is stored.
func TestSMTPRefused(t *testing.T) {
	for _, kind := range []string{"untrusted-root", "expired", "name-mismatch", "missing-intermediate", "self-signed"} {
		for _, mode := range []smtp.TLSMode{smtp.StartTLS, smtp.Implicit} {
			t.Run(kind+"/"+string(mode), func(t *testing.T) {
				sc, err := testpki.NewBroken(kind)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cert := sc.TLSCertificate()
				srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: tempDir(t), Certificate: &cert})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				addr := srv.SMTPAddr()
				if mode == smtp.Implicit {
					addr = srv.SMTPSAddr()
				}
				tcfg := &secchan.Config{ServerName: sc.Name, Logf: t.Logf}
				tcfg.Trust.Roots = poolOf(sc.Roots)
				tcfg.Trust.Revocation = trust.RevocationOff
				cl, err := smtp.Dial(ctx, addr, &smtp.Config{Mode: mode, Provider: schannel.Provider{}, TLS: tcfg, Timeout: 30 * time.Second})
				if err == nil {
					cl.Close()
					t.Fatalf("Dial accepted a chain with problem %s", kind)
				}
				var te *trust.Error
				if !errors.As(err, &te) || !te.Report.Has(trust.Kind(kind)) {
					t.Errorf("Dial error = %v; want a *trust.Error with %s", err, kind)
				}
				if msgs, _ := srv.Messages(); len(msgs) != 0 {
					t.Errorf("the server stored %d messages", len(msgs))
				}
			})
		}
	}
}

// tempDir is t.TempDir for Wine (see internal/testdir).
func tempDir(t *testing.T) string { return testdir.New(t) }

func poolOf(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
