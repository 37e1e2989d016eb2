package submit

import (
	"context"
	"mime"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

// TestQueuedHeaderDowngrade: queued messages with a UTF-8 Subject and
// ASCII addresses reach a server without SMTPUTF8 (OpenSMTPD offers
// 8BITMIME only) with the Subject as RFC 2047 encoded-words, whichever way
// their needs were learnt: recorded at Enqueue (held in memory or
// streamed from the spool), recorded by an earlier version as SMTPUTF8,
// or scanned at delivery. One with a non-ASCII envelope address fails
// for that reason, and only it.
func TestQueuedHeaderDowngrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: testdir.New(t), DisableSMTPUTF8: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	port, _ := strconv.Atoi(p)
	a := &Account{Host: "127.0.0.1", Port: port, Mode: smtp.StartTLS,
		Trust: Trust{CAFile: srv.CAFile(), ServerName: "localhost"}, Timeout: 10 * time.Second}
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const subject = "Bericht: Größe geprüft ✓"
	msg := func(body string) string {
		return "From: a@example.org\r\nSubject: " + subject + "\r\n\r\n" + body
	}
	large := strings.Repeat("0123456789 äöü\r\n", smallItem/16+10)
	data, _ := a.MarshalJSON()
	for _, tc := range []struct {
		to, body string
		env      outbox.Envelope // as recorded; Body "" is scanned
		raw      bool            // queued with EnqueueData: env as given
	}{
		{to: "small@example.net", body: "hello\r\n"},
		{to: "large@example.net", body: large},
		{to: "legacy@example.net", body: "hello\r\n", env: outbox.Envelope{Body: "7BIT", SMTPUTF8: true}, raw: true},
		{to: "scanned@example.net", body: "caf\xc3\xa9\r\n", raw: true},
		{to: "j\xc3\xb6rg@example.net", body: "hello\r\n"},
	} {
		env := tc.env
		env.From, env.To = "a@example.org", []string{tc.to}
		if tc.raw {
			_, err = q.EnqueueData(ctx, env, outbox.Data{Settings: data}, strings.NewReader(msg(tc.body)))
		} else {
			_, err = Enqueue(ctx, q, a, env, strings.NewReader(msg(tc.body)))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var failed []string
	d := &Deliverer{}
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: d.Deliver, OnResult: func(it *outbox.Item, r outbox.Result) {
		if r.Outcome != outbox.Delivered {
			failed = append(failed, it.Envelope.To[0]+": "+r.Err.Error())
		}
	}})
	if err != nil || st.Delivered != 4 {
		t.Fatalf("run: %+v, %v; want 4 delivered (failed: %q)", st, err, failed)
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "is not ASCII") {
		t.Errorf("failures %q, want only the non-ASCII address, for that reason", failed)
	}
	ms, err := srv.Wait(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	for _, m := range ms {
		b, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		hdr, _, _ := strings.Cut(string(b), "\r\n\r\n")
		for i := 0; i < len(hdr); i++ {
			if hdr[i] >= 0x80 {
				t.Fatalf("%s: the header is not 7-bit:\n%s", m.To[0], hdr)
			}
		}
		var got string
		for _, l := range strings.Split(strings.ReplaceAll(hdr, "\r\n ", " "), "\r\n") {
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				got, err = dec.DecodeHeader(v)
			}
		}
		if got != subject || err != nil {
			t.Errorf("%s: Subject decodes to %q (%v)", m.To[0], got, err)
		}
	}
}
