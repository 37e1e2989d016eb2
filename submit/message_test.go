package submit_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// TestSendMessageDerivesEnvelope: Connector.SendMessage sends a composed
// or prepared message with the envelope derived from it, over real TLS to
// the embedded server: Bcc recipients are envelope recipients and absent
// from the content, and a prepared message's undeclared 8-bit body is
// declared with BODY=8BITMIME (RFC 6152), as is a prepared message too
// large to read ahead; a 7-bit one is not.
func TestSendMessageDerivesEnvelope(t *testing.T) {
	dir := testdir.New(t)
	srv, err := server.Start(context.Background(), server.Config{SMTPAddr: "127.0.0.1:0", Dir: filepath.Join(dir, "srv")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	port, _ := strconv.Atoi(p)
	a := &submit.Account{Host: "127.0.0.1", Port: port, Mode: smtp.StartTLS, Timeout: 10 * time.Second,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"}}

	prepare := func(s string) func() (*message.Message, error) {
		return func() (*message.Message, error) {
			return message.Prepare(strings.NewReader(s), message.PrepareOptions{ExtractRecipients: true})
		}
	}
	big := "From: a@example.org\r\nTo: b@example.org\r\nSubject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 30000)
	tests := []struct {
		name string
		make func() (*message.Message, error)
		to   []string
		body string // the BODY parameter the server saw
	}{
		{"composed with Bcc", func() (*message.Message, error) {
			return message.Compose(message.Spec{From: "a@example.org", To: []string{"b@example.org"},
				Cc: []string{"c@example.org"}, Bcc: []string{"hidden@example.org"}, Subject: "hi", Text: "caf\u00e9\n"})
		}, []string{"b@example.org", "c@example.org", "hidden@example.org"}, ""},
		{"prepared with Bcc, 7-bit", prepare("From: a@example.org\r\nTo: b@example.org\r\nBcc: hidden@example.org\r\nSubject: hi\r\n\r\nhello\r\n"),
			[]string{"b@example.org", "hidden@example.org"}, ""},
		{"prepared, undeclared 8-bit body", prepare("From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\ncaf\xc3\xa9\r\n"),
			[]string{"b@example.org"}, "8BITMIME"},
		{"prepared, larger than the read-ahead", prepare(big), []string{"b@example.org"}, "8BITMIME"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := (&submit.Connector{}).SendMessage(ctx, a, m)
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			if !slices.Equal(res.Accepted, tt.to) {
				t.Errorf("accepted %v, want %v", res.Accepted, tt.to)
			}
			msgs, err := srv.Wait(ctx, i+1)
			if err != nil {
				t.Fatal(err)
			}
			got := msgs[i]
			if !slices.Equal(got.To, tt.to) || got.From != "a@example.org" || got.Body != tt.body {
				t.Errorf("server saw from %q to %v body %q; want from a@example.org to %v body %q", got.From, got.To, got.Body, tt.to, tt.body)
			}
			data, err := got.Data()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(string(data)), "hidden@") || strings.Contains(strings.ToLower(string(data)), "\nbcc:") {
				t.Errorf("the Bcc recipient appears in the content:\n%.300s", data)
			}
		})
	}
}
