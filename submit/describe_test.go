package submit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
)

// TestDescribe: a listing shows an item's envelope, size and attempts and
// its Account's server and account name, never its settings otherwise;
// settings that are not an Account still list, with no server.
func TestDescribe(t *testing.T) {
	t.Parallel()
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := &Account{Host: "smtp.example.org", Port: 465, Name: "work", ConfigFile: "/etc/msmtprc"}
	env := outbox.Envelope{From: "a@example.org", To: []string{"b@example.net", "c@example.net"}}
	if _, err := Enqueue(ctx, q, a, env, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	// The server as delivery dials it: the port's default filled in, an
	// IPv6 address in brackets (Account.Addr).
	for _, a := range []*Account{{Host: "smtp.example.net", Mode: smtp.Implicit}, {Host: "::1", Port: 25}} {
		if _, err := Enqueue(ctx, q, a, env, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{"host": 7}`)}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	items, err := q.List()
	if err != nil || len(items) != 4 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}
	got := map[string]ItemInfo{}
	for _, it := range items {
		d := Describe(it)
		if d.ID != it.ID || d.From != env.From || len(d.Recipients) != 2 || d.Size != it.Size || d.Created.IsZero() {
			t.Errorf("Describe(%s) = %+v", it.ID, d)
		}
		got[d.Server] = d
	}
	if d, ok := got["smtp.example.org:465"]; !ok || d.Account != "work" {
		t.Errorf("the account's item: %+v", got)
	}
	for _, server := range []string{"smtp.example.net:465", "[::1]:25"} {
		if _, ok := got[server]; !ok {
			t.Errorf("no item lists server %s: %+v", server, got)
		}
	}
	if _, ok := got[""]; !ok {
		t.Errorf("the item with unreadable settings: %+v", got)
	}
}
