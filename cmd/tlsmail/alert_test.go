package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// corruptingConn flips the last byte of the first read after arm: the TLS
// record it lands in fails its integrity check, and crypto/tls answers with
// a fatal alert (bad_record_mac, or record_overflow if the byte was in a
// header), sent encrypted as any alert after the handshake is.
type corruptingConn struct {
	net.Conn
	armed atomic.Bool
}

func (c *corruptingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.armed.CompareAndSwap(true, false) {
		b[n-1] ^= 0xff
	}
	return n, err
}

// alertServer is an SMTP server over TLS (implicit, or STARTTLS) that
// takes EHLO, MAIL and RCPT, answers DATA with 354, and then, on the first
// bytes of the message, sends a fatal TLS alert. It keeps reading (and
// dropping) what the client sends afterwards, so that the client meets the
// alert rather than a reset. dataSeen counts sessions that reached DATA.
func alertServer(t *testing.T, implicit bool, tlsConf *tls.Config, dataSeen *atomic.Int32) string {
	return rawServer(t, func(raw net.Conn, _ *bufio.Reader) {
		cc := &corruptingConn{Conn: raw}
		var c net.Conn = cc
		if implicit {
			c = tls.Server(cc, tlsConf)
		}
		br := bufio.NewReader(c)
		say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
		say("220 mx.example.org ESMTP")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				if _, ok := c.(*tls.Conn); ok {
					say("250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME")
				} else {
					say("250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS")
				}
			case cmd == "STARTTLS":
				say("220 2.0.0 go ahead")
				c = tls.Server(cc, tlsConf)
				br = bufio.NewReader(c)
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				say("250 2.0.0 ok")
			case cmd == "DATA":
				dataSeen.Add(1)
				cc.armed.Store(true)
				say("354 go ahead")
				// The next record from the client is corrupted: this
				// read fails and crypto/tls sends the fatal alert.
				skipData(br)
				raw.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, raw)
				return
			case cmd == "QUIT":
				say("221 2.0.0 bye")
				return
			default:
				say("502 5.5.2 not implemented")
			}
		}
	})
}

// TestFatalAlertMidData: a server whose TLS layer sends a fatal alert in
// the middle of DATA makes send exit 75 (EX_TEMPFAIL: nothing was accepted,
// so trying again later is right) and report nothing as sent, for small and
// large messages, STARTTLS and implicit TLS, text and JSON output.
func TestFatalAlertMidData(t *testing.T) {
	t.Parallel()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "Alert Test Root"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, IPAddresses: testpki.LoopbackIPs()})
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
	caFile := writeFile(t, "ca.pem", testpki.CertsPEM(root.Cert), 0o644)
	bigBody := writeFile(t, "big.txt", []byte(strings.Repeat("A line of a large message, long enough to take many records.\n", 80000)), 0o644)

	for _, mode := range []string{"starttls", "implicit"} {
		for _, size := range []string{"small", "large"} {
			for _, json := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/json=%v", mode, size, json)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					var dataSeen atomic.Int32
					addr := alertServer(t, mode == "implicit", tlsConf, &dataSeen)
					args := []string{"send", "--server", addr, "--tls", mode, "--ca", caFile, "--tls-name", "localhost",
						"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "alert", "--timeout", "30s"}
					if size == "small" {
						args = append(args, "--body", "Hello Bob.\n")
					} else {
						args = append(args, "--body-file", bigBody)
					}
					if json {
						args = append(args, "--json")
					}
					r := runTLSMail(t, args...)
					if dataSeen.Load() == 0 {
						t.Fatalf("the client never reached DATA: %s", r)
					}
					if r.code != exitTempFail {
						t.Errorf("exit %d, want %d (EX_TEMPFAIL)\n%s", r.code, exitTempFail, r)
					}
					if json {
						// ok is false and there is no final reply; the
						// accepted list is what RCPT accepted.
						m := decodeJSON(t, r)
						if m["ok"] != false || m["response"] != "" {
							t.Errorf("JSON reports a delivery: ok %v, response %q\n%s", m["ok"], m["response"], r)
						}
						e, _ := m["error"].(map[string]any)
						if msg, _ := e["message"].(string); e["kind"] != "network" || !strings.Contains(msg, "remote error: tls:") {
							t.Errorf("error %v, want kind network naming the remote TLS alert\n%s", e, r)
						}
						return
					}
					for _, l := range strings.Split(r.stdout, "\n") {
						if l = strings.TrimSpace(l); strings.HasPrefix(l, "sent") || strings.HasPrefix(l, "accepted") {
							t.Errorf("reported as delivered: %q\n%s", l, r)
						}
					}
					if !strings.Contains(r.stdout, "not sent: bob@example.org") {
						t.Errorf("stdout does not say the message was not sent:\n%s", r)
					}
					if !strings.Contains(r.stderr, "remote error: tls:") {
						t.Errorf("the error does not name the server's TLS alert:\n%s", r)
					}
				})
			}
		}
	}
}
