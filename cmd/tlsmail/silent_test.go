package main

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestSendToSilentImplicitTLSPort: send in the default STARTTLS mode to a
// real implicit-TLS listener on a port other than 465, which waits for a
// ClientHello and gives up after 3 s, before tlsmail's --timeout. It used
// to end with "greeting: EOF" and a fix about firewalls; now tlsmail says,
// while it waits and in the error, that the port probably expects implicit
// TLS.
func TestSendToSilentImplicitTLSPort(t *testing.T) {
	t.Parallel()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "silent root"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{CommonName: "localhost", DNSNames: []string{"localhost"}, IPAddresses: testpki.LoopbackIPs()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	r := runWithin(t, 60*time.Second, "send", "--server", ln.Addr().String(), "--from", "a@example.com",
		"--to", "b@example.org", "--body", "b", "--timeout", "4s")
	t.Logf("%s", r)
	if r.code != exitTempFail {
		t.Errorf("exit %d, want %d", r.code, exitTempFail)
	}
	for _, want := range []string{"no greeting from", "closed the connection", "add --tls implicit"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
}
