//go:build windows

package schannel

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// The write-side defects with the real Schannel (under Wine: TLS 1.2) and a
// crypto/tls server that stops reading; conn_test.go has the same and the
// post-handshake cases through the fake SSPI.

// stalledServer returns an established Schannel connection to a crypto/tls
// server that reads nothing until resume is closed, then reads to the end
// and sends what it got (or its error) on result.
func stalledServer(t *testing.T) (c *Conn, resume chan struct{}, result chan error) {
	t.Helper()
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	resume, result = make(chan struct{}), make(chan error, 1)
	srv := secchantest.Serve(t, func(raw net.Conn) error {
		raw.(*net.TCPConn).SetReadBuffer(64 << 10)
		tc := tls.Server(raw, secchantest.ServerConfig(f.PKI.Server.TLSCertificate()))
		if err := tc.Handshake(); err != nil {
			result <- err
			return err
		}
		<-resume
		raw.SetDeadline(time.Now().Add(hang))
		_, err := io.Copy(io.Discard, tc)
		result <- err
		return nil
	})
	raw, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.TCPConn).SetWriteBuffer(16 << 10)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cfg := f.ClientConfig()
	cfg.Logf = t.Logf
	sc, err := Provider{}.Client(ctx, raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select { // the server reads again first: a Close that waits for a blocked Write still ends
		case <-resume:
		default:
			close(resume)
		}
		sc.Close()
	})
	return sc.(*Conn), resume, result
}

// TestSchannelWriteErrorIsPermanent: after a Write times out in the middle
// of the stream, the next Write returns the same error, and nothing more is
// sent (not even close_notify).
func TestSchannelWriteErrorIsPermanent(t *testing.T) {
	c, resume, result := stalledServer(t)
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := bytes.Repeat([]byte("x"), 8<<20)
	n, err := c.Write(big)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() || n >= len(big) {
		t.Fatalf("Write to a server that does not read = %d, %v; want a timeout", n, err)
	}
	c.SetWriteDeadline(time.Now().Add(hang))
	close(resume)
	if n2, err2 := c.Write([]byte("QUIT\r\n")); err2 != err || n2 != 0 {
		t.Fatalf("Write after a timed-out Write = %d, %v; want 0 and the first error, %v", n2, err2, err)
	}
	c.Close()
	// The server sees the stream end inside the cut record, or at a
	// record boundary: never a record after the cut (which would be
	// bad_record_mac or a malformed record).
	if err := await(t, result, "the server"); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the server read: %v; want the end of the stream", err)
	}
}

// TestSchannelCloseEndsBlockedWrite: Close returns at once while a Write is
// blocked on a server that does not read, and the Write fails.
func TestSchannelCloseEndsBlockedWrite(t *testing.T) {
	c, _, _ := stalledServer(t)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("w"), 8<<20))
		wrote <- err
	}()
	// Let the Write fill the socket buffers. If Close comes first, the
	// Write fails with net.ErrClosed: the test still holds.
	time.Sleep(100 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	await(t, closed, "Close during a blocked Write")
	if err := await(t, wrote, "the blocked Write after Close"); err == nil {
		t.Fatal("the blocked Write succeeded after Close")
	}
}
