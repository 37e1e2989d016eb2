package pgqueue_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// TestFailedKeepsRefusedRecipients (issue 14): on both stores, a message
// the server takes for two recipients and refuses (550) for a third goes
// to the failed items naming only the refused one, with its content
// intact; moved back into the spool directory's queue, it is sent to the
// refused recipient alone, never again to the two that have it.
func TestFailedKeepsRefusedRecipients(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := open(t)
			srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: testdir.New(t),
				RejectRecipient: func(to string) *server.Reply {
					if strings.HasPrefix(to, "bad@") {
						return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			_, p, _ := net.SplitHostPort(srv.SMTPAddr())
			port, _ := strconv.Atoi(p)
			a := &submit.Account{Host: "127.0.0.1", Port: port, Mode: smtp.StartTLS,
				Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"}, Timeout: 10 * time.Second}
			// Larger than what a first read of the file covers, so the
			// content is copied, not served from memory.
			content := "Subject: partial\r\n\r\n" + strings.Repeat("line of the body\r\n", 20000)
			e := outbox.Envelope{From: "a@example.org", To: []string{"one@example.net", "bad@example.net", "two@example.net"}}
			id, err := submit.Enqueue(ctx, q, a, e, strings.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()}); err != nil || st.Failed != 1 {
				t.Fatalf("Run = %+v, %v; want 1 failed", st, err)
			}
			ms, _ := srv.Messages()
			if len(ms) != 1 || !slices.Equal(ms[0].To, []string{"one@example.net", "two@example.net"}) {
				t.Fatalf("server got %d messages (%v), want one to the two accepted", len(ms), ms)
			}
			it, err := q.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(it.Envelope.To, []string{"bad@example.net"}) || it.Envelope.From != e.From || !strings.Contains(it.Reason, "bad@example.net") {
				t.Errorf("failed item: to %q from %q reason %q; want only the refused recipient", it.Envelope.To, it.Envelope.From, it.Reason)
			}
			if !strings.Contains(it.Reason, "one@example.net") || !strings.Contains(it.Reason, "two@example.net") {
				t.Errorf("the reason does not say who got the message: %q", it.Reason)
			}
			rc, err := it.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc) // checks the checksum at the end
			rc.Close()
			if err != nil || !bytes.Equal(b, []byte(content)) {
				t.Fatalf("failed item's content: %d bytes, %v; want the %d bytes queued", len(b), err, len(content))
			}
			dq, ok := q.(*outbox.Queue)
			if !ok {
				return
			}
			// Moved back by hand, as the README's failed/ is used.
			for _, suf := range []string{".msg", ".state"} {
				if err := os.Rename(filepath.Join(dq.Dir(), "failed", id+suf), filepath.Join(dq.Dir(), "msg", id+suf)); err != nil {
					t.Fatal(err)
				}
			}
			if st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Force: true}); err != nil || st.Failed != 1 {
				t.Fatalf("second Run = %+v, %v; want 1 failed", st, err)
			}
			if ms, _ := srv.Messages(); len(ms) != 1 {
				t.Errorf("moved back, the message was sent again: the server has %d messages", len(ms))
			}
		})
	}
}
