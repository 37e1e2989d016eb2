package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestXOAUTH2TokenFromCommand: --auth XOAUTH2 takes the access token from
// --password-cmd and sends it in the SASL XOAUTH2 format over implicit TLS;
// the token never reaches the transcript.
func TestXOAUTH2TokenFromCommand(t *testing.T) {
	t.Parallel()
	const token = "ya29.test-token-5b1c9e"
	pki, err := testpki.NewPKI(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	caFile := writeFile(t, "ca.pem", testpki.CertsPEM(pki.Root.Cert), 0o644)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.Server.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1) // the decoded initial response
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		xoauthServer(c, got)
	}()

	r := runTLSMail(t, []string{"send", "--server", ln.Addr().String(), "--tls", "implicit", "--ca", caFile,
		"--user", "ann@example.com", "--auth", "XOAUTH2", "--password-cmd", "echo " + token,
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "oauth", "--body", "b",
		"--transcript", "-", "--json"}...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	select {
	case ir := <-got:
		if want := "user=ann@example.com\x01auth=Bearer " + token + "\x01\x01"; ir != want {
			t.Errorf("XOAUTH2 initial response = %q, want %q", ir, want)
		}
	default:
		t.Fatal("the server saw no AUTH XOAUTH2")
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Errorf("the token appears in the output:\n%s", r)
	}
	if j := decodeJSON(t, r); j["auth"] != "XOAUTH2" {
		t.Errorf("auth = %v", j["auth"])
	}
}

// xoauthServer is a minimal ESMTP server offering only AUTH XOAUTH2; it
// sends the decoded initial response on got.
func xoauthServer(c net.Conn, got chan<- string) {
	br := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	say("220 oauth.test ESMTP")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-oauth.test\r\n250-AUTH XOAUTH2\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "AUTH XOAUTH2 "):
			ir, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line)[len("AUTH XOAUTH2 "):])
			got <- string(ir)
			say("235 2.7.0 accepted")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 2.0.0 ok")
		case cmd == "DATA":
			say("354 go on")
			if !skipData(br) {
				return
			}
			say("250 2.0.0 queued as OAUTH1")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 5.5.1 unexpected")
		}
	}
}
