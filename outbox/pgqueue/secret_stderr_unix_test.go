//go:build unix

package pgqueue_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/submit"
)

// TestSecretCommandStderrNotStored: on both stores, an item whose password
// command fails is deferred with a last error that says which command
// failed and how, and holds nothing the command printed on its standard
// error (it used to hold its first 200 bytes, and the command line): a
// password store's errors can name secrets.
func TestSecretCommandStderrNotStored(t *testing.T) {
	const marker = "LEAKED-STDERR-93ab"
	leak := filepath.Join(testdir.New(t), "leak")
	if err := os.WriteFile(leak, []byte("gpg: decryption failed for "+marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q := open(t)
			_, a := startServer(t)
			a.Auth = submit.Auth{Mechanism: "PLAIN", User: "joe",
				Secret: submit.SecretRef{Source: submit.SecretCommand, Ref: "cat " + leak + " >&2; exit 3"}}
			id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(1)))
			if err != nil {
				t.Fatal(err)
			}
			if st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()}); err != nil || st.Deferred != 1 {
				t.Fatalf("Run = %+v, %v; want 1 deferred", st, err)
			}
			it, err := q.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(it.LastError, "password command failed: exit status 3") {
				t.Errorf("last error %q, want the command's failure", it.LastError)
			}
			if strings.Contains(it.LastError, marker) || strings.Contains(it.LastError, "cat ") {
				t.Errorf("last error %q holds the command's error output or its command line", it.LastError)
			}
		})
	}
}
