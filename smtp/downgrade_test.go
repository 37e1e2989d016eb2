package smtp

import (
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// TestHeaderDowngrade: against the embedded server without SMTPUTF8 (as
// OpenSMTPD), a message whose header holds UTF-8 text while its addresses
// are ASCII is delivered with its header downgraded (RFC 6857 section 3,
// checked with mime.WordDecoder) and its 8-bit body unchanged under
// BODY=8BITMIME, by Send and by SendAll; a non-ASCII envelope address is
// refused before MAIL FROM with that reason. The same message goes as it
// is, with SMTPUTF8, to a server that offers it.
func TestHeaderDowngrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const subject = "Grüße aus Köln — 会議"
	body := "Zeile 1: äöü\r\n.dot line\r\n"
	msg := "From: Jörg Müller <joerg@example.org>\r\nTo: b@example.org\r\nSubject: " + subject + "\r\n\r\n" + body
	env := Envelope{From: "joerg@example.org", To: []string{"b@example.org"}, HeaderUTF8: true, EightBit: true}

	for _, tc := range []struct {
		name      string
		noUTF8    bool
		sendAll   bool
		downgrade bool
	}{
		{"no SMTPUTF8, Send", true, false, true},
		{"no SMTPUTF8, SendAll", true, true, true},
		{"SMTPUTF8 offered", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), DisableSMTPUTF8: tc.noUTF8})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second,
				TLS: &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if ok, _ := c.Extension("SMTPUTF8"); ok == tc.noUTF8 {
				t.Fatalf("server offers SMTPUTF8: %v", ok)
			}
			if tc.sendAll {
				sent := false
				var derr error
				err = c.SendAll(ctx, func() (Envelope, io.Reader, error) {
					if sent {
						return Envelope{}, nil, io.EOF
					}
					sent = true
					return env, strings.NewReader(msg), nil
				}, func(i int, res *Result, err error) { derr = err })
				if err == nil {
					err = derr
				}
			} else {
				_, err = c.Send(ctx, env, strings.NewReader(msg))
			}
			if err != nil {
				t.Fatal(err)
			}
			ms, err := srv.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			data, err := ms[0].Data()
			if err != nil {
				t.Fatal(err)
			}
			if ms[0].Envelope.SMTPUTF8 == tc.downgrade || ms[0].Envelope.Body != "8BITMIME" {
				t.Errorf("MAIL had SMTPUTF8 %v BODY %q", ms[0].Envelope.SMTPUTF8, ms[0].Envelope.Body)
			}
			hdr, gotBody, _ := strings.Cut(string(data), "\r\n\r\n")
			if gotBody != body {
				t.Errorf("body %q, want %q", gotBody, body)
			}
			if !tc.downgrade {
				if string(data) != msg {
					t.Errorf("stored %q, want the message as it was", data)
				}
				return
			}
			for i := 0; i < len(hdr); i++ {
				if hdr[i] >= 0x80 {
					t.Fatalf("the header is not 7-bit:\n%s", hdr)
				}
			}
			unfolded := strings.ReplaceAll(hdr, "\r\n ", " ")
			var gotSubject, gotFrom string
			for _, l := range strings.Split(unfolded, "\r\n") {
				if v, ok := strings.CutPrefix(l, "Subject: "); ok {
					gotSubject = v
				}
				if v, ok := strings.CutPrefix(l, "From: "); ok {
					gotFrom = v
				}
			}
			dec := new(mime.WordDecoder)
			if s, err := dec.DecodeHeader(gotSubject); err != nil || s != subject {
				t.Errorf("Subject %q decodes to %q (%v), want %q", gotSubject, s, err, subject)
			}
			if s, err := dec.DecodeHeader(gotFrom); err != nil || s != "Jörg Müller <joerg@example.org>" {
				t.Errorf("From %q decodes to %q (%v)", gotFrom, s, err)
			}
		})
	}

	// A DKIM signature the downgrade breaks is noted in the transcript
	// with the fields it covers; the message is still delivered.
	t.Run("DKIM signature broken", func(t *testing.T) {
		srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), DisableSMTPUTF8: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var log strings.Builder
		c, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second, Transcript: transcript.New(&log),
			TLS: &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		signed := "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from:to:subject; bh=x; b=y\r\n" + msg
		if _, err := c.Send(ctx, env, strings.NewReader(signed)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "DKIM signature covers the rewritten field(s) from, subject") {
			t.Errorf("the transcript does not note the broken DKIM signature:\n%s", log.String())
		}
	})

	t.Run("non-ASCII envelope address", func(t *testing.T) {
		srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), DisableSMTPUTF8: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		c, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second,
			TLS: &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := c.Send(ctx, Envelope{From: "a@example.org", To: []string{"jörg@example.org"}, UTF8: true}, strings.NewReader(msg))
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindRejected || res != nil ||
			!strings.Contains(e.Error(), `"jörg@example.org" is not ASCII`) {
			t.Fatalf("err = %v (result %v), want a refusal naming the non-ASCII address", err, res)
		}
		if ms, _ := srv.Messages(); len(ms) != 0 {
			t.Errorf("%d messages stored", len(ms))
		}
	})
}
