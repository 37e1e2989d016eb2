//go:build windows

package schannel

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestNativeTLS13SessionTickets runs real Schannel against a crypto/tls
// server that speaks TLS 1.3 only and issues a session ticket (RFC 8446
// section 4.6.1), sent in one TCP write with the first application data.
// On Windows 11 and Server 2022 and later every NewSessionTicket comes out
// of DecryptMessage as SEC_I_RENEGOTIATE, possibly with the data beside it:
// the post-handshake path of issue 10 (#4, #9), which Wine (no TLS 1.3)
// never takes and the fake SSPI only imitates. The session must be TLS 1.3,
// the ticket must have been sent, and every byte in both directions must
// arrive unchanged across fifty exchanges after it.
func TestNativeTLS13SessionTickets(t *testing.T) {
	skipUnderWine(t, "its Schannel offers no TLS 1.3, so no ticket reaches the post-handshake path")
	if v := windowsVersion(); !v.hasTLS13() {
		t.Skipf("Windows %s has no supported TLS 1.3 (build %d or later)", v, buildTLS13)
	}
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	const greeting = "220 tls13.example ESMTP ready\r\n"
	const rounds = 50
	var tickets atomic.Int32
	srv := secchantest.Serve(t, func(raw net.Conn) error {
		cc := &secchantest.CoalesceConn{Conn: raw}
		scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
		scfg.MinVersion = tls.VersionTLS13
		scfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			tickets.Add(1)
			return scfg.EncryptTicket(cs, ss)
		}
		tc := tls.Server(cc, scfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("server handshake: %w", err)
		}
		// The ticket (queued by the handshake) and the greeting leave in
		// one TCP write.
		if _, err := tc.Write([]byte(greeting)); err != nil {
			return err
		}
		if err := cc.Flush(); err != nil {
			return err
		}
		br := bufio.NewReader(tc)
		for i := range rounds {
			line, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("round %d: read: %w", i, err)
			}
			if _, err := tc.Write([]byte("250 " + line)); err != nil {
				return err
			}
			if err := cc.Flush(); err != nil {
				return err
			}
		}
		return nil
	})

	cfg := f.ClientConfig()
	cfg.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := secchantest.Dial(ctx, Provider{}, srv.Addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v (server: %v)", err, srv.Wait())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if v := c.State().Version; v != tls.VersionTLS13 {
		t.Fatalf("negotiated version 0x%04X, want TLS 1.3 (0x0304)", v)
	}
	br := bufio.NewReader(c)
	if got, err := br.ReadString('\n'); got != greeting {
		t.Fatalf("read %q, %v; want the greeting %q", got, err, greeting)
	}
	for i := range rounds {
		line := fmt.Sprintf("NOOP %d\r\n", i)
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatalf("round %d: write: %v", i, err)
		}
		if got, err := br.ReadString('\n'); got != "250 "+line {
			t.Fatalf("round %d: read %q, %v; want %q", i, got, err, "250 "+line)
		}
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
	if tickets.Load() == 0 {
		t.Fatal("the server issued no session ticket: the post-handshake path was not taken")
	}
}
