package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestSendToSilentImplicitTLSPort: send in the default STARTTLS mode to a
// real implicit-TLS listener on a port other than 465, which waits for a
// ClientHello and gives up before tlsmail's --timeout. It used to end with
// "greeting: EOF" and a fix about firewalls; now tlsmail says, while it
// waits and in the error, that the port probably expects implicit TLS.
//
// The listener gives up once tlsmail has said so (half of --timeout 6s),
// not on a timer of its own: 3 s against --timeout 4s left a loaded machine
// one second to get the close through before tlsmail's own timeout.
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
	stderr := &watchWriter{want: "no greeting from", seen: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				go func() { <-stderr.seen; c.Close() }()
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tlsmailBin, "send", "--server", ln.Addr().String(), "--from", "a@example.com",
		"--to", "b@example.org", "--body", "b", "--timeout", "6s")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("tlsmail did not finish within a minute:\n%s", r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
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

// watchWriter keeps what is written to it and closes seen once it holds
// want.
type watchWriter struct {
	want string
	seen chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
