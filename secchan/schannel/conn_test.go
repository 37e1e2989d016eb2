package schannel

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// These tests drive the record layer (conn.go, handshake.go) through the
// fake SSPI of fakesspi_test.go over real loopback sockets. They run on
// every OS, with -race on Linux, and under Wine with the rest.

const hang = 10 * time.Second // an upper bound for "does not hang", never a speed claim

// sendRecords writes records from the peer.
func sendRecords(t *testing.T, peer net.Conn, recs ...[]byte) {
	t.Helper()
	if _, err := peer.Write(bytes.Join(recs, nil)); err != nil {
		t.Fatal(err)
	}
}

// await waits for a result from ch, failing the test after hang.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hang):
		t.Fatalf("%s: nothing after %v", what, hang)
	}
	panic("unreachable")
}

// smallBuffers makes a Write of a few megabytes block on a peer that does
// not read.
func smallBuffers(c *Conn, peer *net.TCPConn) {
	c.raw.(*net.TCPConn).SetWriteBuffer(16 << 10)
	peer.SetReadBuffer(64 << 10) // not smaller: Linux then stalls on a zero window for seconds once the peer reads again
}

// TestWriteErrorIsPermanent: a Write that times out may have sent half a
// record; every later Write must fail with the same error instead of
// continuing a stream the server can no longer decrypt (as crypto/tls does).
func TestWriteErrorIsPermanent(t *testing.T) {
	c, _, peer := fakePair(t, tls.VersionTLS13)
	smallBuffers(c, peer)
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := bytes.Repeat([]byte("x"), 8<<20)
	n, err := c.Write(big)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() || n >= len(big) {
		t.Fatalf("Write to a peer that does not read = %d, %v; want a timeout", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	go io.Copy(io.Discard, peer) // the peer reads again: only the sticky error can stop the next Write

	for i := range 2 {
		done := make(chan error, 1)
		go func() {
			n, err := c.Write([]byte("RSET\r\n"))
			if err == nil {
				err = errors.New("no error")
			}
			if n != 0 {
				err = errors.Join(err, errors.New("bytes were written"))
			}
			done <- err
		}()
		if got := await(t, done, "Write after a timed-out Write"); got != err {
			t.Fatalf("Write %d after a timed-out Write = %v; want the same error as the first, %v", i+2, got, err)
		}
	}
	c.Close()
}

// TestPostHandshakeDataKept: application data that DecryptMessage returns
// together with SEC_I_RENEGOTIATE (TLS 1.3 NewSessionTicket, on Windows 11
// every ticket) or SEC_I_CONTEXT_EXPIRED (close_notify) is delivered, not
// dropped.
func TestPostHandshakeDataKept(t *testing.T) {
	cases := []struct {
		name string
		recs [][]byte
		want string
	}{
		{"ticket alone", [][]byte{fakeRecord('T', 0, ""), fakeRecord('D', 0, "220 ready\r\n"), fakeRecord('E', 0, "")}, "220 ready\r\n"},
		{"data with a ticket", [][]byte{fakeRecord('D', 0, "250-one\r\n"), fakeRecord('T', 0, "250-two\r\n"), fakeRecord('D', 0, "250 three\r\n"), fakeRecord('E', 0, "")}, "250-one\r\n250-two\r\n250 three\r\n"},
		{"two tickets in one read", [][]byte{fakeRecord('T', 0, "a"), fakeRecord('T', 0, "b"), fakeRecord('D', 0, "c"), fakeRecord('E', 0, "")}, "abc"},
		{"data with close_notify", [][]byte{fakeRecord('D', 0, "221 "), fakeRecord('E', 0, "bye\r\n")}, "221 bye\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, peer := fakePair(t, tls.VersionTLS13)
			sendRecords(t, peer, tc.recs...)
			c.SetReadDeadline(time.Now().Add(hang))
			got, err := io.ReadAll(c)
			if err != nil || string(got) != tc.want {
				t.Fatalf("read %q, %v; want %q and io.EOF", got, err, tc.want)
			}
			c.Close()
		})
	}
}

// TestTLS12RenegotiationRefused: a TLS 1.2 server's HelloRequest is refused
// (as crypto/tls does by default): renegotiating would bring a server
// certificate that is never verified.
func TestTLS12RenegotiationRefused(t *testing.T) {
	c, f, peer := fakePair(t, tls.VersionTLS12)
	sendRecords(t, peer, fakeRecord('D', 0, "250 ok\r\n"), fakeRecord('H', 0, ""), fakeRecord('D', 0, "more"))
	c.SetReadDeadline(time.Now().Add(hang))
	buf := make([]byte, 100)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "250 ok\r\n" {
		t.Fatalf("first Read = %q, %v", buf[:n], err)
	}
	n, err := c.Read(buf)
	if !errors.Is(err, ErrRenegotiation) {
		t.Fatalf("Read after a HelloRequest = %q, %v; want ErrRenegotiation", buf[:n], err)
	}
	if f.renegotiated {
		t.Fatal("InitializeSecurityContext was called after the HelloRequest: the renegotiation went ahead")
	}
	if _, err2 := c.Read(buf); !errors.Is(err2, ErrRenegotiation) {
		t.Errorf("second Read = %v; want ErrRenegotiation again", err2)
	}
	if _, err2 := c.Write([]byte("QUIT\r\n")); !errors.Is(err2, ErrRenegotiation) {
		t.Errorf("Write after the refusal = %v; want ErrRenegotiation", err2)
	}
	c.Close()
}

// TestReadDoesNotWaitForBlockedWrite: a Write blocked on a server that does
// not read must not stop Read from handling a post-handshake message (here a
// KeyUpdate that wants an answer); the answer goes out before the first
// record encrypted under the new keys.
func TestReadDoesNotWaitForBlockedWrite(t *testing.T) {
	c, _, peer := fakePair(t, tls.VersionTLS13)
	smallBuffers(c, peer)
	const size = 4 << 20
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("w"), size))
		wrote <- err
	}()
	// Once the first header arrives the Write holds the write lock; the
	// rest does not fit in the socket buffers.
	prefix := make([]byte, fakeHeader)
	peer.SetReadDeadline(time.Now().Add(hang))
	if _, err := io.ReadFull(peer, prefix); err != nil {
		t.Fatal(err)
	}
	sendRecords(t, peer, fakeRecord('K', 0, ""), fakeRecord('D', 0, "250 ok\r\n"))

	read := make(chan string, 1)
	go func() {
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		if err != nil {
			read <- err.Error()
			return
		}
		read <- string(buf[:n])
	}()
	select {
	case got := <-read:
		if got != "250 ok\r\n" {
			t.Fatalf("Read = %q", got)
		}
	case <-time.After(hang):
		peer.Close() // let the Write and the Read end
		t.Fatalf("Read is still waiting after %v behind a blocked Write", hang)
	}

	// Now the server reads everything: the KeyUpdate answer must come once,
	// after the last record of the old epoch and before the first of the new.
	total := 0
	recs, err := readRecords(peer, prefix, func(recs [][]byte) bool {
		total = 0
		for _, r := range recs {
			if _, _, p, _ := parseRecord(r); r[0] == 'D' {
				total += len(p)
			}
		}
		return total == size
	})
	if err != nil {
		select {
		case werr := <-wrote:
			t.Logf("Write returned %v", werr)
		default:
		}
		t.Fatalf("%v (%d of %d bytes)", err, total, size)
	}
	if err := await(t, wrote, "Write"); err != nil {
		t.Fatal(err)
	}
	answers, epoch := 0, byte(0)
	for i, r := range recs {
		typ, e, _, _ := parseRecord(r)
		switch typ {
		case 'k':
			answers++
			epoch = e
		case 'D':
			if e != epoch {
				t.Fatalf("record %d: data of epoch %d after %d KeyUpdate answers (epoch %d)", i, e, answers, epoch)
			}
		}
	}
	if answers != 1 {
		t.Fatalf("%d KeyUpdate answers; want 1", answers)
	}
	c.Close()
}

// TestContextAttributesChecked: a context without the attributes asked for
// (confidentiality, replay and sequence detection, stream mode, memory
// allocated by Schannel) is refused, at the handshake and after a
// post-handshake message.
func TestContextAttributesChecked(t *testing.T) {
	cases := []struct {
		name string
		miss uint32
	}{
		{"all granted", 0},
		{"ISC_RET_CONFIDENTIALITY", iscRetConfidentiality},
		{"ISC_RET_REPLAY_DETECT", iscRetReplayDetect},
		{"ISC_RET_SEQUENCE_DETECT", iscRetSequenceDetect},
		{"ISC_RET_STREAM", iscRetStream},
		{"ISC_RET_ALLOCATED_MEMORY", iscRetAllocatedMemory},
	}
	for _, tc := range cases {
		t.Run("handshake/"+tc.name, func(t *testing.T) {
			c, f, peer := fakeConn(t)
			f.grant = grantAll &^ tc.miss
			go func() {
				readRecords(peer, nil, func(recs [][]byte) bool { return len(recs) == 1 })
				peer.Write(fakeRecord('S', 0, ""))
			}()
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			err := c.handshake(ctx, nil)
			checkAttrError(t, err, tc.miss, tc.name)
			c.Close()
		})
		t.Run("post-handshake/"+tc.name, func(t *testing.T) {
			c, f, peer := fakePair(t, tls.VersionTLS13)
			f.grant = grantAll &^ tc.miss
			sendRecords(t, peer, fakeRecord('T', 0, ""), fakeRecord('D', 0, "x"))
			c.SetReadDeadline(time.Now().Add(hang))
			_, err := c.Read(make([]byte, 10))
			checkAttrError(t, err, tc.miss, tc.name)
			c.Close()
		})
	}
}

func checkAttrError(t *testing.T, err error, miss uint32, name string) {
	t.Helper()
	if miss == 0 {
		if err != nil {
			t.Fatalf("every attribute granted: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("context without %s: err = %v; want an error that names it", name, err)
	}
}

// TestCloseDuringPostHandshakeMessage: Close while Read is inside a
// post-handshake message that waits for more bytes returns at once, and the
// Read ends with an error without touching the released handles.
func TestCloseDuringPostHandshakeMessage(t *testing.T) {
	c, f, peer := fakePair(t, tls.VersionTLS13)
	sendRecords(t, peer, fakeRecord('P', 0, ""))
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 10))
		read <- err
	}()
	select {
	case <-f.incompleteC:
	case err := <-read:
		t.Fatalf("Read returned %v before the post-handshake message was complete", err)
	case <-time.After(hang):
		t.Fatal("the post-handshake message never reached InitializeSecurityContext")
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(hang):
		peer.Close() // let Read, then Close, end
		<-read
		<-closed
		t.Fatalf("Close waited %v for a post-handshake message that never completes", hang)
	}
	if err := await(t, read, "Read after Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v; want net.ErrClosed", err)
	}
}

// TestCloseRacesPostHandshakeMessages: Close at any moment while Read handles
// a stream of NewSessionTickets (every one SEC_I_RENEGOTIATE on Windows 11)
// never uses a released credential or context (the fake records any such
// call; -race reports any SSPI call made outside the handle lock).
func TestCloseRacesPostHandshakeMessages(t *testing.T) {
	for i := range 40 {
		c, f, peer := fakePair(t, tls.VersionTLS13)
		var recs [][]byte
		for range 10 {
			recs = append(recs, fakeRecord('T', 0, ""), fakeRecord('D', 0, "d"))
		}
		// Close is called while DecryptMessage returns the (i%10+1)-th
		// ticket, and the fake lingers there a moment so that Close is
		// waiting for the handle lock when the ticket goes on to
		// InitializeSecurityContext.
		inDecrypt := make(chan struct{})
		tickets := 0
		f.onPost = func() {
			if tickets++; tickets == i%10+1 {
				close(inDecrypt)
				time.Sleep(5 * time.Millisecond)
			}
		}
		go peer.Write(bytes.Join(recs, nil))
		read := make(chan error, 1)
		go func() {
			buf := make([]byte, 10)
			for {
				if _, err := c.Read(buf); err != nil {
					read <- err
					return
				}
			}
		}()
		await(t, inDecrypt, "the chosen ticket")
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		await(t, closed, "Close")
		await(t, read, "Read after Close")
	}
}

// TestCloseEndsBlockedWrite: Close does not wait for a Write blocked on a
// server that does not read (it skips close_notify, as crypto/tls does, and
// the Write fails).
func TestCloseEndsBlockedWrite(t *testing.T) {
	c, _, peer := fakePair(t, tls.VersionTLS13)
	smallBuffers(c, peer)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("w"), 4<<20))
		wrote <- err
	}()
	peer.SetReadDeadline(time.Now().Add(hang))
	if _, err := io.ReadFull(peer, make([]byte, fakeHeader)); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case <-closed:
	case <-time.After(hang):
		peer.Close()
		<-wrote
		t.Fatalf("Close waited %v for a blocked Write", hang)
	}
	if err := await(t, wrote, "Write after Close"); err == nil {
		t.Fatal("the blocked Write succeeded after Close")
	}
}
