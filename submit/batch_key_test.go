package submit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
)

// TestBatchNeverMixesAccounts: a spool file whose header names another
// account's grouping key (here the key of the item queued before it, as a
// hand edit or an older writer could leave it) is still delivered with its
// own Account: each message reaches the server its settings name, over its
// own connection, never the other account's.
func TestBatchNeverMixesAccounts(t *testing.T) {
	srvA, a := startTestServer(t)
	srvB, b := startTestServer(t)
	dir := filepath.Join(testdir.New(t), "q")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	ctx := context.Background()
	if _, err := Enqueue(ctx, q, a, env, strings.NewReader("Subject: for A\r\n\r\nA\r\n")); err != nil {
		t.Fatal(err)
	}
	idB, err := Enqueue(ctx, q, b, env, strings.NewReader("Subject: for B\r\n\r\nB\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	// B's header is rewritten with A's grouping key; its settings and
	// content are left as they are.
	keyA, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	lieAboutGroup(t, filepath.Join(dir, "msg", idB+".msg"), string(keyA))

	st, err := q.Run(ctx, outbox.RunConfig{Deliver: (&Deliverer{}).Deliver})
	if err != nil || st.Delivered != 2 {
		t.Fatalf("Run = %+v, %v; want 2 delivered", st, err)
	}
	for _, tc := range []struct {
		name    string
		msgs    func() ([]byte, error)
		subject string
	}{
		{"A", func() ([]byte, error) { return onlyMessage(t, srvA.Messages) }, "Subject: for A"},
		{"B", func() ([]byte, error) { return onlyMessage(t, srvB.Messages) }, "Subject: for B"},
	} {
		data, err := tc.msgs()
		if err != nil {
			t.Errorf("server %s: %v", tc.name, err)
		} else if !bytes.Contains(data, []byte(tc.subject)) {
			t.Errorf("server %s received %q, want the message %q", tc.name, data, tc.subject)
		}
	}
}

// lieAboutGroup rewrites the header line of the spool file at path with a
// "group" field of key.
func lieAboutGroup(t *testing.T, path, key string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	magic, rest, _ := bytes.Cut(b, []byte("\n"))
	line, content, _ := bytes.Cut(rest, []byte("\n"))
	var h map[string]any
	if err := json.Unmarshal(line, &h); err != nil {
		t.Fatal(err)
	}
	h["group"] = key
	line, err = json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Join([][]byte{magic, line, content}, []byte("\n"))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// onlyMessage is the content of the one message a server received.
func onlyMessage(t *testing.T, list func() ([]server.Message, error)) ([]byte, error) {
	t.Helper()
	ms, err := list()
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("received %d messages, want 1", len(ms))
	}
	return ms[0].Data()
}
