package interop

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

// socatTLS runs socat terminating implicit TLS (OpenSSL) on a free loopback
// port, with the extra OPENSSL-LISTEN options given (e.g.
// "max-version=TLS1.2"), forwarding the plain bytes to backend. It returns
// the TLS address; socat is killed at cleanup.
func socatTLS(t *testing.T, socat string, files *pkiFiles, backend string, opts ...string) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken before socat binds it
		addr := freePort(t)
		_, port, _ := strings.Cut(addr, ":")
		listen := append([]string{"OPENSSL-LISTEN:" + port, "bind=127.0.0.1", "reuseaddr", "fork",
			"cert=" + files.CertFile, "key=" + files.Key, "verify=0"}, opts...)
		cmd := exec.Command(socat, "-d", strings.Join(listen, ","), "TCP:"+backend)
		out := &testbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = 5 * time.Second
		dieWithTest(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting socat: %v", err)
		}
		var once sync.Once
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		stop := func() {
			once.Do(func() {
				cmd.Process.Kill() // the socat this test started, by its pid
				<-exited
			})
		}
		alive := func() error {
			select {
			case <-exited:
				return fmt.Errorf("socat exited: %v\n%s", waitErr, out.String())
			default:
				return nil
			}
		}
		if err := waitListening(context.Background(), addr, alive); err != nil {
			stop()
			lastErr = err
			continue
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("socat output:\n%s", out.String())
			}
		})
		return addr
	}
	t.Fatalf("socat did not start: %v", lastErr)
	return ""
}

// TestImplicitTLSThroughSocat: tlsmail's client in implicit-TLS mode talks
// to OpenSSL (socat), which forwards the cleartext to the embedded server's
// plain port. The handshake, the chain verification (leaf + intermediate as
// OpenSSL sends them, our root) and AUTH all cross a foreign TLS stack, with
// TLS 1.3, and TLS 1.2 with an ECDSA and with an RSA certificate.
func TestImplicitTLSThroughSocat(t *testing.T) {
	socat := needBinary(t, "socat", "socat")
	ctx := testContext(t)
	// The backend is plain: socat terminated the TLS. AUTH is allowed in
	// the clear there because the client's side of it is encrypted.
	srv := startEmbedded(t, server.Config{
		SMTPAddr:          "127.0.0.1:0",
		DisableSTARTTLS:   true,
		AllowInsecureAuth: true,
		Users:             map[string]string{clientUser: clientPassword},
	})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	setups := []struct {
		name        string
		key         crypto.Signer // nil: ECDSA P-256
		opts        []string
		wantVersion uint16
	}{
		{"TLS1.3-ECDSA", nil, []string{"min-version=TLS1.3"}, tls.VersionTLS13},
		{"TLS1.2-ECDSA", nil, []string{"max-version=TLS1.2"}, tls.VersionTLS12},
		{"TLS1.2-RSA", rsaKey, []string{"max-version=TLS1.2"}, tls.VersionTLS12},
	}
	auths := []struct {
		name string
		auth *smtp.Auth
	}{
		{"PLAIN", &smtp.Auth{Mechanism: "PLAIN", Username: clientUser, Password: clientPassword}},
		{"LOGIN", &smtp.Auth{Mechanism: "LOGIN", Username: clientUser, Password: clientPassword}},
		{"auto", &smtp.Auth{Username: clientUser, Password: clientPassword}},
	}
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			var files *pkiFiles
			if su.key == nil {
				files = newPKIFiles(t, t.TempDir())
			} else {
				files = newPKIFilesKey(t, t.TempDir(), su.key)
			}
			tlsAddr := socatTLS(t, socat, files, srv.SMTPAddr(), su.opts...)
			for _, a := range auths {
				t.Run(a.name, func(t *testing.T) {
					tag := "socat-" + su.name + "-" + a.name
					msg := testMessage(tag)
					env := smtp.Envelope{From: fromAddr, To: []string{toAddr}, EightBit: true}
					res, st := sendWith(t, ctx, tlsAddr, clientConfig(smtp.Implicit, files.Roots, a.auth), env, msg)
					if st.Version != su.wantVersion {
						t.Errorf("negotiated %s, want %s", secchan.VersionName(st.Version), secchan.VersionName(su.wantVersion))
					}
					m := srv.waitFor(t, ctx, "<"+tag+"@tlsmail.test>")
					if res.Response == nil || !strings.Contains(res.Response.String(), m.ID) {
						t.Errorf("reply to DATA %v does not name the queue id %s", res.Response, m.ID)
					}
					got, err := m.Data()
					if err != nil {
						t.Fatal(err)
					}
					if d := diffBytes(got, msg); d != "" {
						t.Errorf("stored message differs: %s", d)
					}
					if m.AuthUser != clientUser || m.Body != "8BITMIME" {
						t.Errorf("sidecar auth user %q, BODY %q; want %q, 8BITMIME", m.AuthUser, m.Body, clientUser)
					}
					if m.TLS != nil {
						t.Errorf("backend recorded TLS %+v on its plain port; socat should have terminated it", *m.TLS)
					}
				})
			}
			t.Run("unrelated-CA", func(t *testing.T) {
				other := newPKIFiles(t, t.TempDir()) // trust a different root
				c, err := smtp.Dial(ctx, tlsAddr, clientConfig(smtp.Implicit, other.Roots, nil))
				if err == nil {
					c.Close()
					t.Fatal("the client accepted OpenSSL's chain against an unrelated root")
				}
				var se *smtp.Error
				if !errors.As(err, &se) || se.Kind != smtp.KindCertificate {
					t.Fatalf("error = %v; want an *smtp.Error of kind %q", err, smtp.KindCertificate)
				}
			})
		})
	}
}
