package submit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestEnqueueStoresAbsolutePaths: a queued item is delivered by whichever
// runner takes it (a Worker, `tlsmail queue run` started in another
// directory, a systemd unit), so the file names of its Account (CA file,
// client certificate and key, password file, configuration file) are
// stored absolute, resolved against the directory of the program that
// queued it; relative, a runner elsewhere would read (and trust) another
// directory's ca.pem. The caller's Account is left as it was.
func TestEnqueueStoresAbsolutePaths(t *testing.T) {
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	a := &Account{Host: "mx.example", Port: 587, ConfigFile: "msmtprc",
		Trust:  Trust{CAFile: "ca.pem"},
		Client: ClientIdentity{CertFile: "client.pem", KeyFile: "client.key"},
		Auth:   Auth{Mechanism: "PLAIN", User: "u", Secret: SecretRef{Source: SecretFile, Ref: "pw"}}}
	before := *a
	id, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Trust.CAFile != before.Trust.CAFile || a.Auth.Secret != before.Auth.Secret {
		t.Errorf("Enqueue changed the caller's Account: %+v", a)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	var got Account
	if err := json.Unmarshal(it.Data(), &got); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string][2]string{
		"config file": {got.ConfigFile, "msmtprc"},
		"CA file":     {got.Trust.CAFile, "ca.pem"},
		"cert file":   {got.Client.CertFile, "client.pem"},
		"key file":    {got.Client.KeyFile, "client.key"},
		"secret file": {got.Auth.Secret.Ref, "pw"},
	} {
		if want := filepath.Join(wd, p[1]); p[0] != want {
			t.Errorf("%s stored as %q, want %q", name, p[0], want)
		}
	}
}

// TestWorkerWithoutQueue: a Worker with neither Queue nor Pass returns an
// error from Run rather than panicking in its first pass.
func TestWorkerWithoutQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var w Worker
	if err := w.Run(ctx); err == nil {
		t.Fatal("Run of a Worker without a Queue returned nil")
	}
}
