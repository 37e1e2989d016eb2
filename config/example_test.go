package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlsmail/tlsmail/config"
)

func ExampleParse() {
	const rc = `defaults
port 587
tls on

account work
host smtp.example.org
from *@example.org
auth on
user joe
passwordeval pass show smtp/work

account default : work
`
	f, err := config.Parse(context.Background(), "~/.msmtprc", strings.NewReader(rc), config.Options{Home: "/home/joe"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// msmtp -f joe@example.org: the first account whose from matches.
	a, err := f.Select("", "joe@example.org")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Name, a.Host, a.ServerPort(), a.TLS, a.StartTLS, a.Check())
	// Output: work smtp.example.org 587 true true <nil>
}

func ExampleError() {
	_, err := config.Parse(context.Background(), "/etc/tlsmail.rc", strings.NewReader("account a\nHost h\n"), config.Options{})
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.File, ce.Line, ce.Key)
		fmt.Println(ce.Msg)
		fmt.Println(ce.Fix)
	}
	// Output:
	// /etc/tlsmail.rc 2 Host
	// unknown command Host
	// commands are lower case: write host
}

func ExampleLocate() {
	env := map[string]string{"TLSMAIL_CONFIG": "/srv/app/tlsmail.rc"}
	path, err := config.Locate("", func(k string) string { return env[k] }, "/home/joe")
	fmt.Println(path, err)
	// Output: /srv/app/tlsmail.rc <nil>
}

// A program that reads mail settings as msmtp's sendmail mode does: the
// user's ~/.msmtprc (here a file named like -C FILE), the account chosen
// by the sender, and the command line's --port applied on top.
func ExampleSearch_Select() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	rc := filepath.Join(dir, "msmtprc")
	os.WriteFile(rc, []byte("account work\nhost smtp.example.org\nfrom ann@example.org\n"), 0o600)

	s := config.Search{Explicit: rc, Getenv: func(string) string { return "" }, Home: dir}
	a, err := s.Select(context.Background(), config.Selection{
		From:      "ann@example.org",
		Overrides: config.Overrides{{Key: "port", Arg: "2525"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Name, a.Host, a.ServerPort())
	// Output:
	// work smtp.example.org 2525
}
