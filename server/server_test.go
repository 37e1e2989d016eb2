package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

const (
	user = "alice"
	pass = "correct horse battery staple"
)

// A message with everything that tends to get mangled: a leading dot that
// must be stuffed and unstuffed, a line that is only a dot plus text, 8-bit
// UTF-8, trailing spaces, an empty line, and CRLF line ends.
const tricky = "From: alice@example.com\r\n" +
	"To: bob@example.com\r\n" +
	"Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n" +
	"\r\n" +
	".leading dot\r\n" +
	"..two dots\r\n" +
	". \r\n" +
	"grüße, 8-bit body   \r\n" +
	"\r\n" +
	"end\r\n"

// netSMTPSend sends with Go's net/smtp over STARTTLS, verifying the server
// with roots and authenticating with PLAIN when auth is non-nil.
func netSMTPSend(addr string, roots *x509.CertPool, certs []tls.Certificate, auth smtp.Auth, from string, to []string, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	conf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if len(certs) > 0 {
		// Offer the certificate even when the server's list of acceptable
		// CAs does not name its issuer (crypto/tls would send none).
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	if err := c.StartTLS(conf); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("RCPT %s: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return c.Quit()
}

func TestSTARTTLSAuthPlainNetSMTP(t *testing.T) {
	var logBuf, debugBuf testbuf.Buffer
	s := start(t, func(c *server.Config) {
		c.Users = map[string]string{user: pass}
		c.Log = &logBuf
		c.Debug = &debugBuf
	})
	roots := caPoolFromFile(t, s)
	auth := smtp.PlainAuth("", user, pass, "127.0.0.1")
	to := []string{"bob@example.com", "carol@example.org"}
	if err := netSMTPSend(s.SMTPAddr(), roots, nil, auth, "alice@example.com", to, tricky); err != nil {
		t.Fatal(err)
	}
	ms := waitN(t, s, 1)
	m := ms[0]
	got, err := m.Data()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tricky {
		t.Errorf("stored bytes differ:\n got %q\nwant %q", got, tricky)
	}

	// The sidecar, read as JSON from disk.
	js, err := os.ReadFile(m.EnvelopePath)
	if err != nil {
		t.Fatal(err)
	}
	var env server.Envelope
	if err := json.Unmarshal(js, &env); err != nil {
		t.Fatalf("sidecar is not JSON: %v\n%s", err, js)
	}
	if env.From != "alice@example.com" || strings.Join(env.To, ",") != strings.Join(to, ",") {
		t.Errorf("envelope from/to = %q %q", env.From, env.To)
	}
	if env.AuthUser != user {
		t.Errorf("auth user = %q, want %q", env.AuthUser, user)
	}
	if env.Size != int64(len(tricky)) {
		t.Errorf("size = %d, want %d", env.Size, len(tricky))
	}
	if env.Listener != "smtp" || env.Helo != "client.example" || env.ID == "" || env.Received.IsZero() {
		t.Errorf("listener/helo/id/received = %q %q %q %v", env.Listener, env.Helo, env.ID, env.Received)
	}
	if env.RemoteAddr == "" || !strings.HasPrefix(env.RemoteAddr, "127.0.0.1:") {
		t.Errorf("remote addr = %q", env.RemoteAddr)
	}
	if env.TLS == nil || !env.TLS.STARTTLS || env.TLS.Version == "" || env.TLS.CipherSuite == "" || env.TLS.ServerName != "localhost" {
		t.Errorf("tls = %+v", env.TLS)
	}
	if env.TLS != nil && env.TLS.ClientCertSubject != "" {
		t.Errorf("client cert subject %q without a client certificate", env.TLS.ClientCertSubject)
	}
	if filepath.Base(m.Path) != strings.TrimSuffix(filepath.Base(m.EnvelopePath), ".json")+".eml" {
		t.Errorf("file names do not pair: %s %s", m.Path, m.EnvelopePath)
	}
	if filepath.Dir(m.Path) != s.MessagesDir() || filepath.Dir(m.EnvelopePath) != s.MessagesDir() {
		t.Errorf("the files %s and %s are not in MessagesDir %s", m.Path, m.EnvelopePath, s.MessagesDir())
	}
	if got, want := m.TLS.Summary(), "STARTTLS, "+m.TLS.Version+", "+m.TLS.CipherSuite; got != want {
		t.Errorf("TLS.Summary() = %q, want %q", got, want)
	}
	if got := (*server.TLSInfo)(nil).Summary(); got != "no TLS" {
		t.Errorf("a message in the clear: Summary() = %q", got)
	}

	// The password reaches no file, log or trace; neither does the PLAIN blob.
	blob := b64("\x00" + user + "\x00" + pass)
	var all bytes.Buffer
	filepath.WalkDir(s.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	all.WriteString(logBuf.String())
	all.WriteString(debugBuf.String())
	for _, secret := range []string{pass, blob} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("secret %q found in files/log/trace", secret)
		}
	}
	if !strings.Contains(debugBuf.String(), "C: AUTH PLAIN [redacted initial response]") {
		t.Errorf("trace lacks the redacted AUTH line:\n%s", debugBuf.String())
	}
	if !strings.Contains(logBuf.String(), "stored "+m.ID) {
		t.Errorf("log lacks the stored line:\n%s", logBuf.String())
	}
}

func TestImplicitTLSRawSession(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.Users = map[string]string{user: pass}
		c.MaxMessageBytes = 1 << 20
	})
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	ext := r.ehlo()
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE", "AUTH"} {
		if _, ok := ext[want]; !ok {
			t.Errorf("EHLO lacks %s: %v", want, ext)
		}
	}
	if ext["SIZE"] != "1048576" {
		t.Errorf("SIZE %q, want 1048576", ext["SIZE"])
	}
	if !strings.Contains(ext["AUTH"], "PLAIN") || !strings.Contains(ext["AUTH"], "LOGIN") {
		t.Errorf("AUTH mechanisms %q", ext["AUTH"])
	}
	if _, ok := ext["STARTTLS"]; ok {
		t.Errorf("STARTTLS offered on an implicit-TLS connection")
	}

	// AUTH LOGIN, challenge by challenge.
	if got := r.cmd(334, "AUTH LOGIN"); got != b64("Username:") {
		t.Errorf("first LOGIN challenge %q", got)
	}
	if got := r.cmd(334, b64(user)); got != b64("Password:") {
		t.Errorf("second LOGIN challenge %q", got)
	}
	r.cmd(235, b64(pass))

	// Pipelined envelope (RFC 2920): one write, then the four replies.
	var b strings.Builder
	b.WriteString("MAIL FROM:<> BODY=8BITMIME SMTPUTF8\r\n")
	b.WriteString("RCPT TO:<bob@example.com>\r\n")
	b.WriteString("RCPT TO:<dörte@bücher.example>\r\n")
	b.WriteString("DATA\r\n")
	if _, err := r.conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	r.expect(250)
	r.expect(250)
	r.expect(250)
	r.expect(354)
	// Dot-stuffed on the wire by hand (RFC 5321 section 4.5.2).
	wire := strings.ReplaceAll("\r\n"+tricky, "\r\n.", "\r\n..")[2:] + ".\r\n"
	if _, err := r.conn.Write([]byte(wire)); err != nil {
		t.Fatal(err)
	}
	final := r.expect(250)
	id, ok := strings.CutPrefix(final, "2.0.0 Ok: queued as ")
	if !ok || id == "" {
		t.Fatalf("end-of-data reply %q lacks the queue id", final)
	}
	r.cmd(221, "QUIT")

	m := waitN(t, s, 1)[0]
	if m.ID != id {
		t.Errorf("stored id %q, reply said %q", m.ID, id)
	}
	got, _ := m.Data()
	if string(got) != tricky {
		t.Errorf("stored bytes differ:\n got %q\nwant %q", got, tricky)
	}
	if m.From != "" || len(m.To) != 2 || m.To[1] != "dörte@bücher.example" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if m.Listener != "smtps" || m.TLS == nil || m.TLS.STARTTLS || m.Body != "8BITMIME" || !m.SMTPUTF8 || m.AuthUser != user {
		t.Errorf("envelope %+v tls %+v", m.Envelope, m.TLS)
	}
	if got := m.TLS.Summary(); !strings.HasPrefix(got, "implicit TLS, TLS 1.") || !strings.HasSuffix(got, ", "+m.TLS.CipherSuite) {
		t.Errorf("TLS.Summary() = %q", got)
	}
}

func TestAuthNeedsTLS(t *testing.T) {
	for _, tc := range []struct {
		name       string
		insecureOK bool
		wantAuth   int // reply to AUTH PLAIN in the clear
		wantMail   int // reply to MAIL afterwards
	}{
		{"default refuses", false, 523, 530},
		{"AllowInsecureAuth", true, 235, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, func(c *server.Config) {
				c.Users = map[string]string{user: pass}
				c.AllowInsecureAuth = tc.insecureOK
			})
			r := dialPlain(t, s)
			ext := r.ehlo()
			if _, ok := ext["STARTTLS"]; !ok {
				t.Errorf("STARTTLS not offered: %v", ext)
			}
			if _, ok := ext["AUTH"]; ok != tc.insecureOK {
				t.Errorf("AUTH offered in the clear = %v, want %v", ok, tc.insecureOK)
			}
			r.cmd(tc.wantAuth, "AUTH PLAIN "+b64("\x00"+user+"\x00"+pass))
			r.cmd(tc.wantMail, "MAIL FROM:<alice@example.com>")
		})
	}
}

func TestAuthRefusals(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.Users = map[string]string{user: pass, "bob": "hunter2"}
		c.AuthFailureDelay = time.Millisecond // one failure per connection: no need to wait
	})
	for _, tc := range []struct {
		name  string
		lines []string // sent in order; all but the last must get 334
		want  int
	}{
		{"plain wrong password", []string{"AUTH PLAIN " + b64("\x00"+user+"\x00wrong")}, 535},
		{"plain unknown user", []string{"AUTH PLAIN " + b64("\x00mallory\x00"+pass)}, 535},
		{"plain other user's password", []string{"AUTH PLAIN " + b64("\x00"+user+"\x00hunter2")}, 535},
		{"plain authzid mismatch", []string{"AUTH PLAIN " + b64("bob\x00"+user+"\x00"+pass)}, 535},
		{"plain malformed", []string{"AUTH PLAIN " + b64(user+"\x00"+pass)}, 501},
		{"plain bad base64", []string{"AUTH PLAIN !!!"}, 454},
		{"plain no initial response, wrong", []string{"AUTH PLAIN", b64("\x00" + user + "\x00nope")}, 535},
		{"login wrong password", []string{"AUTH LOGIN", b64(user), b64("wrong")}, 535},
		{"login initial response, wrong", []string{"AUTH LOGIN " + b64(user), b64("wrong")}, 535},
		{"cancelled", []string{"AUTH LOGIN", "*"}, 501},
		{"unknown mechanism", []string{"AUTH CRAM-MD5"}, 504},
		{"plain ok", []string{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)}, 235},
		{"plain ok with authzid", []string{"AUTH PLAIN " + b64(user+"\x00"+user+"\x00"+pass)}, 235},
		{"login ok", []string{"AUTH LOGIN", b64("bob"), b64("hunter2")}, 235},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
			r.ehlo()
			for _, l := range tc.lines[:len(tc.lines)-1] {
				r.cmd(334, l)
			}
			r.cmd(tc.want, tc.lines[len(tc.lines)-1])
			wantMail := 530
			if tc.want == 235 {
				wantMail = 250
			}
			r.cmd(wantMail, "MAIL FROM:<x@example.com>")
		})
	}
}

func TestWrongPasswordNetSMTP(t *testing.T) {
	s := start(t, func(c *server.Config) { c.Users = map[string]string{user: pass} })
	err := netSMTPSend(s.SMTPAddr(), s.CAPool(), nil, smtp.PlainAuth("", user, "wrong", "127.0.0.1"),
		"alice@example.com", []string{"bob@example.com"}, tricky)
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 535 {
		t.Fatalf("err = %v, want a 535", err)
	}
	if ms, _ := s.Messages(); len(ms) != 0 {
		t.Errorf("%d messages stored after failed auth", len(ms))
	}
}

func TestRejectRecipientHook(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user here"}
			}
			return nil
		}
	})
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	r.ehlo()
	r.cmd(250, "MAIL FROM:<alice@example.com>")
	r.cmd(250, "RCPT TO:<bob@example.com>")
	if got := r.cmd(550, "RCPT TO:<nobody@example.com>"); got != "5.1.1 No such user here" {
		t.Errorf("refusal text %q", got)
	}
	r.cmd(250, "RCPT TO:<carol@example.com>")
	r.cmd(354, "DATA")
	r.send("Subject: hi\r\n\r\nhello\r\n.")
	r.expect(250)

	m := waitN(t, s, 1)[0]
	if strings.Join(m.To, " ") != "bob@example.com carol@example.com" {
		t.Errorf("recipients %q", m.To)
	}
}

func TestRejectRecipientNetSMTP(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == "gone@example.com" {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "gone"}
			}
			return nil
		}
	})
	err := netSMTPSend(s.SMTPAddr(), s.CAPool(), nil, nil, "a@example.com", []string{"ok@example.com", "gone@example.com"}, tricky)
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 || !strings.Contains(err.Error(), "gone@example.com") {
		t.Fatalf("err = %v, want 550 for gone@example.com", err)
	}
}

func TestRetryHooks(t *testing.T) {
	var mu sync.Mutex
	mailCalls, dataCalls := 0, 0
	s := start(t, func(c *server.Config) {
		c.RejectMail = func(from string) *server.Reply {
			mu.Lock()
			defer mu.Unlock()
			mailCalls++
			if mailCalls == 1 {
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 2}, Text: "Try again later"}
			}
			return nil
		}
		c.RejectData = func(env server.Envelope) *server.Reply {
			mu.Lock()
			defer mu.Unlock()
			dataCalls++
			if env.Size != int64(len(tricky)) {
				t.Errorf("hook saw size %d", env.Size)
			}
			if dataCalls == 1 {
				return &server.Reply{Code: 451, Text: "Queue full"}
			}
			return nil
		}
	})
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	r.ehlo()
	if got := r.cmd(451, "MAIL FROM:<a@example.com>"); got != "4.3.2 Try again later" {
		t.Errorf("MAIL refusal %q", got)
	}
	send := func(want int) string {
		r.cmd(250, "MAIL FROM:<a@example.com>")
		r.cmd(250, "RCPT TO:<b@example.com>")
		r.cmd(354, "DATA")
		r.conn.Write([]byte(strings.ReplaceAll("\r\n"+tricky, "\r\n.", "\r\n..")[2:] + ".\r\n"))
		return r.expect(want)
	}
	if got := send(451); got != "4.0.0 Queue full" {
		t.Errorf("DATA refusal %q", got)
	}
	if ms, _ := s.Messages(); len(ms) != 0 {
		t.Fatalf("refused message stored")
	}
	send(250)
	if ms, _ := s.Messages(); len(ms) != 1 {
		t.Fatalf("%d messages after the retry, want 1", len(ms))
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "messages"))
	if len(entries) != 2 {
		t.Errorf("messages/ holds %d files, want .eml and .json (no leftovers)", len(entries))
	}
}

func TestHookInvalidCodeStillRefuses(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.RejectRecipient = func(string) *server.Reply { return &server.Reply{Code: 250, Text: "oops"} }
	})
	r := dialPlain(t, s)
	r.ehlo()
	r.cmd(250, "MAIL FROM:<a@example.com>")
	r.cmd(451, "RCPT TO:<b@example.com>")
	r.cmd(502, "DATA") // no recipient was accepted
}

func TestClientCertificate(t *testing.T) {
	clientRoot, err := testpki.NewRoot(testpki.Options{CommonName: "Client Root"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := clientRoot.Issue(testpki.Options{CommonName: "client one", Organization: "tlsmail tests",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	strangerRoot, _ := testpki.NewRoot(testpki.Options{CommonName: "Stranger Root"})
	stranger, _ := strangerRoot.Issue(testpki.Options{CommonName: "stranger",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})

	for _, tc := range []struct {
		name        string
		require     bool
		certs       []tls.Certificate
		wantErr     bool
		wantSubject string
	}{
		{"verified cert recorded", false, []tls.Certificate{leaf.TLSCertificate()}, false, "CN=client one,O=tlsmail tests"},
		{"no cert, optional", false, nil, false, ""},
		{"no cert, required", true, nil, true, ""},
		{"untrusted cert refused", false, []tls.Certificate{stranger.TLSCertificate()}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, func(c *server.Config) {
				c.ClientCAs = clientRoot.Pool()
				c.RequireClientCert = tc.require
			})
			err := netSMTPSend(s.SMTPAddr(), s.CAPool(), tc.certs, nil, "a@example.com", []string{"b@example.com"}, tricky)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("send succeeded, want a handshake failure")
				}
				if ms, _ := s.Messages(); len(ms) != 0 {
					t.Errorf("message stored despite failed handshake")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := waitN(t, s, 1)[0]
			if m.TLS == nil || m.TLS.ClientCertSubject != tc.wantSubject {
				t.Errorf("tls = %+v, want client subject %q", m.TLS, tc.wantSubject)
			}
		})
	}
}

func TestConcurrentSessions(t *testing.T) {
	const n = 12
	s := start(t, func(c *server.Config) { c.Users = map[string]string{user: pass} })
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf("Subject: %d\r\n\r\nmessage number %d\r\n", i, i)
			rcpt := fmt.Sprintf("r%d@example.com", i)
			errs <- netSMTPSend(s.SMTPAddr(), s.CAPool(), nil, smtp.PlainAuth("", user, pass, "127.0.0.1"),
				"a@example.com", []string{rcpt}, body)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ms := waitN(t, s, n)
	seen := map[string]bool{}
	for _, m := range ms {
		b, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		var i int
		if _, err := fmt.Sscanf(m.To[0], "r%d@example.com", &i); err != nil {
			t.Fatalf("recipient %q", m.To[0])
		}
		if want := fmt.Sprintf("Subject: %d\r\n\r\nmessage number %d\r\n", i, i); string(b) != want {
			t.Errorf("message for %s = %q, want %q", m.To[0], b, want)
		}
		if seen[m.ID] {
			t.Errorf("duplicate id %s", m.ID)
		}
		seen[m.ID] = true
	}
	onDisk, err := s.Messages()
	if err != nil || len(onDisk) != n {
		t.Errorf("Messages() = %d, %v; want %d", len(onDisk), err, n)
	}
}

func TestSizeLimit(t *testing.T) {
	s := start(t, func(c *server.Config) { c.MaxMessageBytes = 100 })
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	if got := r.ehlo()["SIZE"]; got != "100" {
		t.Errorf("SIZE %q", got)
	}
	r.cmd(552, "MAIL FROM:<a@example.com> SIZE=101")
	r.cmd(250, "MAIL FROM:<a@example.com> SIZE=100")
	r.cmd(250, "RCPT TO:<b@example.com>")
	r.cmd(354, "DATA")
	r.conn.Write([]byte(strings.Repeat("0123456789abcdef\r\n", 10) + ".\r\n"))
	r.expect(552)
	r.cmd(250, "NOOP") // the session goes on
	if ms, _ := s.Messages(); len(ms) != 0 {
		t.Errorf("oversized message stored")
	}
}

func TestBadInputDoesNotBreakServer(t *testing.T) {
	s := start(t, nil)
	r := dialPlain(t, s)
	for _, l := range []string{"", "\x00\x01\x02", "MAIL FROM:<a@example.com>", "EHLO"} {
		r.send(l)
		if code, _ := r.reply(); code < 500 {
			t.Errorf("%q got %d, want a 5xx", l, code)
		}
	}
	// A line far longer than the limit (12288 octets, RFC 4954's AUTH line)
	// ends the session with 500.
	r2 := dialPlain(t, s)
	r2.conn.Write([]byte("EHLO " + strings.Repeat("x", 20000) + "\r\n"))
	if code, _ := r2.reply(); code != 500 {
		t.Errorf("long line got %d, want 500", code)
	}
	// A client that hangs up mid-DATA leaves no message and no temp file.
	r3 := dialPlain(t, s)
	r3.ehlo()
	r3.cmd(250, "MAIL FROM:<a@example.com>")
	r3.cmd(250, "RCPT TO:<b@example.com>")
	r3.cmd(354, "DATA")
	r3.conn.Write([]byte("Subject: half\r\n\r\nhalf a mess"))
	r3.conn.Close()
	// The server still works.
	if err := netSMTPSend(s.SMTPAddr(), s.CAPool(), nil, nil, "a@example.com", []string{"b@example.com"}, tricky); err != nil {
		t.Fatal(err)
	}
	m := waitN(t, s, 1)[0]
	if b, _ := m.Data(); string(b) != tricky {
		t.Errorf("stored %q", b)
	}
}

func TestNoSTARTTLSOption(t *testing.T) {
	s := start(t, func(c *server.Config) { c.DisableSTARTTLS = true })
	r := dialPlain(t, s)
	if _, ok := r.ehlo()["STARTTLS"]; ok {
		t.Errorf("STARTTLS offered with DisableSTARTTLS")
	}
	r.cmd(502, "STARTTLS")
}

func TestTLSVersionBounds(t *testing.T) {
	s := start(t, func(c *server.Config) { c.MaxTLSVersion = tls.VersionTLS12 })
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	if v := r.conn.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS12 {
		t.Errorf("negotiated %s, want TLS 1.2", tls.VersionName(v))
	}
	c, err := tls.Dial("tcp", s.SMTPSAddr(), &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost", MinVersion: tls.VersionTLS13})
	if err == nil {
		c.Close()
		t.Errorf("TLS 1.3-only client connected to a TLS 1.2-max server")
	}
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name   string
		cfg    server.Config
		wantOp string
	}{
		{"no listener", server.Config{Dir: t.TempDir()}, "config"},
		{"require cert without CAs", server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), RequireClientCert: true}, "config"},
		{"certificate without key", server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), Certificate: &tls.Certificate{}}, "config"},
		{"port in use", server.Config{SMTPAddr: busy.Addr().String(), Dir: t.TempDir()}, "listen"},
		{"second port in use", server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: busy.Addr().String(), Dir: t.TempDir()}, "listen"},
		{"dir is a file", server.Config{SMTPAddr: "127.0.0.1:0", Dir: filepath.Join(t.TempDir(), "f", "x")}, "dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantOp == "dir" {
				os.WriteFile(filepath.Dir(tc.cfg.Dir), []byte("a file"), 0o644)
			}
			s, err := server.Start(context.Background(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			var se *server.Error
			if !errors.As(err, &se) || se.Op != tc.wantOp || se.Fix == "" {
				t.Fatalf("err = %#v, want *server.Error with Op %q and a Fix", err, tc.wantOp)
			}
		})
	}
}

func TestGivenCertificateAndTempDir(t *testing.T) {
	pki, err := testpki.NewPKI([]string{"mail.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := pki.Server.TLSCertificate()
	s, err := server.Start(context.Background(), server.Config{SMTPSAddr: "127.0.0.1:0", Certificate: &cert})
	if err != nil {
		t.Fatal(err)
	}
	if s.CAFile() != "" || s.CAPool() != nil || s.SMTPAddr() != "" {
		t.Errorf("CAFile %q CAPool %v SMTPAddr %q", s.CAFile(), s.CAPool(), s.SMTPAddr())
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "ca.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ca.pem written with a given certificate: %v", err)
	}
	r := dialTLS(t, s, &tls.Config{RootCAs: pki.Root.Pool(), ServerName: "mail.test"})
	r.cmd(221, "QUIT")
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary dir %s left after Close: %v", dir, err)
	}
}

func TestMessagesAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	for run := range 2 {
		s, err := server.Start(context.Background(), server.Config{SMTPAddr: "127.0.0.1:0", Dir: dir, Sync: run == 1})
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("Subject: run %d\r\n\r\nx\r\n", run)
		if err := netSMTPSend(s.SMTPAddr(), s.CAPool(), nil, nil, "a@example.com", []string{"b@example.com"}, body); err != nil {
			t.Fatal(err)
		}
		if got := waitN(t, s, 1); len(got) != 1 {
			t.Errorf("run %d: Wait returned %d messages, want this run's 1", run, len(got))
		}
		ms, err := s.Messages()
		if err != nil || len(ms) != run+1 {
			t.Fatalf("run %d: Messages = %d, %v", run, len(ms), err)
		}
		if b, _ := ms[run].Data(); string(b) != body {
			t.Errorf("run %d: newest message %q (order wrong?)", run, b)
		}
		s.Close()
	}
}

// serverGoroutines lists the stacks of goroutines running server or go-smtp
// code. A goroutine that has signalled its WaitGroup may still be on its way
// out, so the check yields the processor a bounded number of times before
// reporting: a leaked goroutine (blocked, not exiting) stays in the list.
func serverGoroutines() []string {
	var g []string
	for range 1000 {
		if g = serverGoroutinesNow(); len(g) == 0 {
			return nil
		}
		runtime.Gosched()
	}
	return g
}

func serverGoroutinesNow() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/emersion/go-smtp") || strings.Contains(g, "tlsmail/server.(") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseIsClean(t *testing.T) {
	if g := serverGoroutines(); len(g) > 0 {
		t.Fatalf("server goroutines before the test:\n%s", strings.Join(g, "\n\n"))
	}
	s, err := server.Start(context.Background(), server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// An idle session, a TLS session mid-DATA, and a waiter.
	idle := dialPlain(t, s)
	idle.ehlo()
	busy := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	busy.ehlo()
	busy.cmd(250, "MAIL FROM:<a@example.com>")
	busy.cmd(250, "RCPT TO:<b@example.com>")
	busy.cmd(354, "DATA")
	busy.conn.Write([]byte("Subject: never finished\r\n"))
	waitErr := make(chan error, 1)
	go func() {
		_, err := s.Wait(context.Background(), 1)
		waitErr <- err
	}()

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-waitErr; !errors.Is(err, server.ErrClosed) {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
	if g := serverGoroutines(); len(g) > 0 {
		t.Errorf("goroutines left after Close:\n%s", strings.Join(g, "\n\n"))
	}
	// The clients see their connections closed.
	for _, r := range []*raw{idle, busy} {
		if _, err := r.tp.ReadLine(); err == nil {
			// go-smtp may say goodbye first; the next read must fail.
			if _, err := r.tp.ReadLine(); err == nil {
				t.Errorf("connection still open after Close")
			}
		}
	}
	// Nothing half-written is left behind.
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "messages"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in messages/: %s", e.Name())
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := net.Dial("tcp", s.SMTPAddr()); err == nil {
		t.Errorf("listener still accepts after Close")
	}
}

func TestShutdownLetsSessionsFinish(t *testing.T) {
	s, err := server.Start(context.Background(), server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := dialPlain(t, s)
	r.ehlo()
	r.cmd(250, "MAIL FROM:<a@example.com>")
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	// The session is still served while Shutdown waits for it.
	r.cmd(250, "RCPT TO:<b@example.com>")
	r.cmd(354, "DATA")
	r.send("Subject: late\r\n\r\nbody\r\n.")
	r.expect(250)
	r.cmd(221, "QUIT")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ms, _ := s.Messages(); len(ms) != 1 {
		t.Errorf("%d messages, want 1", len(ms))
	}
	if g := serverGoroutines(); len(g) > 0 {
		t.Errorf("goroutines left after Shutdown:\n%s", strings.Join(g, "\n\n"))
	}
}

func TestBDATStoresExactBytes(t *testing.T) {
	s := start(t, nil)
	r := dialTLS(t, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	if _, ok := r.ehlo()["CHUNKING"]; !ok {
		t.Skip("go-smtp does not offer CHUNKING")
	}
	r.cmd(250, "MAIL FROM:<a@example.com> BODY=8BITMIME")
	r.cmd(250, "RCPT TO:<b@example.com>")
	// RFC 3030: chunks are raw bytes, no dot-stuffing, any line ends.
	chunks := []string{"Subject: bdat\r\n\r\n.dot", " and bare LF\n.\r\nend\r\n"}
	r.conn.Write([]byte(fmt.Sprintf("BDAT %d\r\n%s", len(chunks[0]), chunks[0])))
	r.expect(250)
	r.conn.Write([]byte(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunks[1]), chunks[1])))
	final := r.expect(250)
	m := waitN(t, s, 1)[0]
	if !strings.HasSuffix(final, "queued as "+m.ID) {
		t.Errorf("reply %q, stored id %s", final, m.ID)
	}
	if b, _ := m.Data(); string(b) != chunks[0]+chunks[1] {
		t.Errorf("stored %q, want %q", b, chunks[0]+chunks[1])
	}
}

func TestMaxSessions(t *testing.T) {
	s := start(t, func(c *server.Config) { c.MaxSessions = 1 })
	first := dialPlain(t, s) // registered: it got its greeting
	first.ehlo()
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), ioDeadline)
	if err != nil {
		t.Fatal(err)
	}
	second := newRaw(t, c)
	if msg := second.expect(421); !strings.Contains(msg, "Too many sessions") {
		t.Errorf("refusal %q", msg)
	}
	if _, err := tls.Dial("tcp", s.SMTPSAddr(), &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"}); err == nil {
		t.Errorf("implicit-TLS connection accepted beyond MaxSessions")
	}
	first.cmd(250, "NOOP") // the first session is unaffected
}

func TestStartCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
