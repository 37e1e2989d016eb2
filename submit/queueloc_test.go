package submit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestSendmailQueue: the outbox `tlsmail sendmail` queues an account's
// mail in, as a library runner finds it: the explicit source, else the
// environment, else the queue_dir or queue_url of the account msmtp's
// files choose (by name or by the sender), else that of the file found
// for an account of no file (SMTPSERVER), else the default directory; a
// level naming both a directory and a URL is an *outbox.BothError, and an
// account named that does not exist an error.
func TestSendmailQueue(t *testing.T) {
	t.Parallel()
	dir := testdir.New(t)
	home := filepath.Join(dir, "home")
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "msmtprc")
	text := "account a\nhost a.example.org\nfrom ann@example.org\nqueue_dir " + filepath.Join(dir, "qa") + "\n\n" +
		"account b\nhost b.example.org\nfrom bob@example.org\nqueue_url postgres://db.example.org/mail\n\n" +
		"account default : a\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	noDefault := filepath.Join(dir, "nodefault")
	if err := os.WriteFile(noDefault, []byte("account c\nhost c.example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defaultDir := filepath.Join(state, "tlsmail", "queue")
	for _, tc := range []struct {
		name     string
		env      map[string]string
		explicit string // the file (-C)
		sel      config.Selection
		src      outbox.Source
		want     outbox.Location
		both     bool
		fails    bool
	}{
		{name: "default account", explicit: cfg, want: outbox.Location{Dir: filepath.Join(dir, "qa")}},
		{name: "account by name", explicit: cfg, sel: config.Selection{Account: "b"}, want: outbox.Location{URL: "postgres://db.example.org/mail"}},
		{name: "account by sender", explicit: cfg, sel: config.Selection{From: "bob@example.org"}, want: outbox.Location{URL: "postgres://db.example.org/mail"}},
		{name: "the environment first", explicit: cfg, env: map[string]string{"TLSMAIL_QUEUE_DIR": filepath.Join(dir, "qe")},
			want: outbox.Location{Dir: filepath.Join(dir, "qe")}},
		{name: "explicit first", explicit: cfg, env: map[string]string{"TLSMAIL_QUEUE_DIR": filepath.Join(dir, "qe")},
			src: outbox.Source{Dir: filepath.Join(dir, "qx")}, want: outbox.Location{Dir: filepath.Join(dir, "qx")}},
		{name: "account of no file", env: map[string]string{"SMTPSERVER": "s.example.org", "TLSMAIL_CONFIG": cfg},
			explicit: noDefault, want: outbox.Location{Dir: filepath.Join(dir, "qa")}},
		{name: "no configuration", want: outbox.Location{Dir: defaultDir}},
		{name: "both in the environment", explicit: cfg, env: map[string]string{"TLSMAIL_QUEUE_DIR": "/q", "TLSMAIL_QUEUE_URL": "postgres://h/d"}, both: true},
		{name: "no such account", explicit: cfg, sel: config.Selection{Account: "zzz"}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": home, "XDG_STATE_HOME": state, "XDG_CONFIG_HOME": filepath.Join(dir, "xdg")}
			for k, v := range tc.env {
				env[k] = v
			}
			s := config.Search{Explicit: tc.explicit, Getenv: func(k string) string { return env[k] }, Home: home}
			got, err := SendmailQueue(context.Background(), s, tc.sel, tc.src)
			var be *outbox.BothError
			switch {
			case tc.both:
				if !errors.As(err, &be) {
					t.Errorf("got %v, %v; want an *outbox.BothError", got, err)
				}
			case tc.fails:
				if err == nil {
					t.Errorf("got %v, want an error", got)
				}
			case err != nil || got != tc.want:
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
