package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/trust"
)

func parse(t *testing.T, text string) (*File, error) {
	t.Helper()
	return Parse(context.Background(), "test.rc", strings.NewReader(text), Options{Home: "/home/joe"})
}

func mustAccount(t *testing.T, text, name string) *Account {
	t.Helper()
	f, err := parse(t, text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	a, err := f.Account(name)
	if err != nil {
		t.Fatalf("Account(%q): %v", name, err)
	}
	return a
}

const sha256FP = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"

func TestParseValues(t *testing.T) {
	pin := "sha256/" + strings.Repeat("A", 43) + "="
	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, a *Account)
	}{
		{"defaults of a bare account", "account a\nhost h\n", func(t *testing.T, a *Account) {
			want := &Account{Name: "a", File: "test.rc", Line: 1, Host: "h", StartTLS: true, CertCheck: true,
				TrustFile: "system", Domain: "localhost", Ignored: map[string]string{},
				AllowFromOverride: true, SetFromHeader: "auto", SetDateHeader: "auto", SetMsgIDHeader: "auto", RemoveBcc: true,
				Set: map[string]Origin{"host": {Line: 2}}, raw: map[string]string{"host": "h"}}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("got %+v\nwant %+v", a, want)
			}
			if a.ServerPort() != 25 {
				t.Errorf("ServerPort = %d, want 25", a.ServerPort())
			}
		}},
		{"quotes and blanks", "account a\nhost   \"  spaced  \"   \nuser \"x\\\"y\"\nfrom a@b # not a comment\npassword \"\"\n", func(t *testing.T, a *Account) {
			if a.Host != "  spaced  " || a.User != `x\"y` || a.From != "a@b # not a comment" || a.Password != "" {
				t.Errorf("host %q user %q from %q password %q", a.Host, a.User, a.From, a.Password)
			}
		}},
		{"one quote is not a pair", "account a\nhost h\nuser \"\nfrom \"a\" \"b\"\n", func(t *testing.T, a *Account) {
			if a.User != `"` || a.From != `a" "b` {
				t.Errorf("user %q from %q", a.User, a.From)
			}
		}},
		{"tabs, CRLF and comments", "# c\r\n\t# indented comment\r\naccount\ta\r\n\thost\t\th\t\r\n\r\n", func(t *testing.T, a *Account) {
			if a.Host != "h" {
				t.Errorf("host %q", a.Host)
			}
		}},
		{"on/off and empty means on", "account a\nhost h\ntls\ntls_starttls off\ntls_certcheck off\nauth\n", func(t *testing.T, a *Account) {
			if !a.TLS || a.StartTLS || a.CertCheck || a.Auth != "on" || a.ServerPort() != 465 {
				t.Errorf("tls %v starttls %v certcheck %v auth %q port %d", a.TLS, a.StartTLS, a.CertCheck, a.Auth, a.ServerPort())
			}
		}},
		{"port as strtol base 0", "account a\nhost h\nport 0x24B\n", func(t *testing.T, a *Account) {
			if a.Port != 587 {
				t.Errorf("port %d", a.Port)
			}
		}},
		{"octal port", "account a\nhost h\nport 010\n", func(t *testing.T, a *Account) {
			if a.Port != 8 {
				t.Errorf("port %d", a.Port)
			}
		}},
		{"timeout", "account a\nhost h\ntimeout 30\n", func(t *testing.T, a *Account) {
			if a.Timeout != 30*time.Second {
				t.Errorf("timeout %v", a.Timeout)
			}
		}},
		{"connect_timeout alias and off", "account a\nhost h\nconnect_timeout 9\ntimeout off\n", func(t *testing.T, a *Account) {
			if a.Timeout != 0 || a.Set["timeout"].Line != 4 {
				t.Errorf("timeout %v set %v", a.Timeout, a.Set)
			}
		}},
		{"files with tilde", "account a\nhost h\ntls_trust_file ~/ca.pem\ntls_cert_file ~/c.pem\ntls_key_file ~/k.pem\nqueue_dir ~/q\n", func(t *testing.T, a *Account) {
			if a.TrustFile != "/home/joe/ca.pem" || a.CertFile != "/home/joe/c.pem" || a.KeyFile != "/home/joe/k.pem" || a.QueueDir != "/home/joe/q" {
				t.Errorf("%q %q %q %q", a.TrustFile, a.CertFile, a.KeyFile, a.QueueDir)
			}
		}},
		{"empty trust file", "account a\nhost h\ntls_trust_file\n", func(t *testing.T, a *Account) {
			if a.TrustFile != "" || !a.IsSet("tls_trust_file") {
				t.Errorf("trust %q", a.TrustFile)
			}
		}},
		{"fingerprint", "account a\nhost h\ntls_fingerprint " + sha256FP + "\n", func(t *testing.T, a *Account) {
			if len(a.Fingerprint) != 32 || a.Fingerprint[31] != 0xff || FormatFingerprint(a.Fingerprint) != strings.ToUpper(sha256FP) {
				t.Errorf("fingerprint %x", a.Fingerprint)
			}
		}},
		{"sha1 fingerprint with spaces", "account a\nhost h\ntls_fingerprint " + strings.ReplaceAll(sha256FP[:59], ":", " ") + "\n", func(t *testing.T, a *Account) {
			if len(a.Fingerprint) != 20 {
				t.Errorf("fingerprint %x", a.Fingerprint)
			}
		}},
		{"tlsmail keys", "account a\nhost h\ntls_pin " + pin + " , " + pin + "\ntls_provider schannel\nrevocation strict\n", func(t *testing.T, a *Account) {
			if len(a.Pin) != 2 || a.Provider != "schannel" || a.Revocation != trust.RevocationStrict {
				t.Errorf("pin %q provider %q revocation %q", a.Pin, a.Provider, a.Revocation)
			}
		}},
		{"ignored keys are kept", "account a\nhost h\nsource_ip 192.0.2.1\n", func(t *testing.T, a *Account) {
			want := map[string]string{"source_ip": "192.0.2.1"}
			if !reflect.DeepEqual(a.Ignored, want) {
				t.Errorf("ignored %v", a.Ignored)
			}
		}},
		{"header keys: msmtp's defaults", "account a\nhost h\n", func(t *testing.T, a *Account) {
			if !a.AllowFromOverride || a.SetFromHeader != "auto" || a.SetDateHeader != "auto" || a.SetMsgIDHeader != "auto" ||
				!a.RemoveBcc || a.UndisclosedRecipients {
				t.Errorf("%+v", a)
			}
		}},
		{"header keys set", "account a\nhost h\nallow_from_override off\nset_from_header on\nset_date_header off\nset_msgid_header off\nremove_bcc_headers off\nundisclosed_recipients\n", func(t *testing.T, a *Account) {
			if a.AllowFromOverride || a.SetFromHeader != "on" || a.SetDateHeader != "off" || a.SetMsgIDHeader != "off" ||
				a.RemoveBcc || !a.UndisclosedRecipients || len(a.Ignored) != 0 {
				t.Errorf("%+v", a)
			}
		}},
		{"header keys: msmtp's old names", "account a\nhost h\nkeepbcc\nadd_missing_date_header off\nadd_missing_from_header off\n", func(t *testing.T, a *Account) {
			if a.RemoveBcc || a.SetDateHeader != "off" || a.SetFromHeader != "off" || !a.IsSet("remove_bcc_headers") || !a.IsSet("set_from_header") {
				t.Errorf("%+v", a)
			}
		}},
		{"header keys: empty argument is auto or on", "account a\nhost h\nset_from_header off\nset_from_header\nset_date_header\nremove_bcc_headers off\nremove_bcc_headers\n", func(t *testing.T, a *Account) {
			if a.SetFromHeader != "auto" || a.SetDateHeader != "auto" || !a.RemoveBcc {
				t.Errorf("%+v", a)
			}
		}},
		{"log and aliases", "account a\nhost h\nlogfile ~/log\nlogfile_time_format %F %T\nsyslog LOG_MAIL\naliases ~/.aliases\n", func(t *testing.T, a *Account) {
			if a.LogFile != "/home/joe/log" || a.LogTimeFormat != "%F %T" || a.Syslog != "LOG_MAIL" || a.Aliases != "/home/joe/.aliases" || len(a.Ignored) != 0 {
				t.Errorf("logfile %q format %q syslog %q aliases %q ignored %v", a.LogFile, a.LogTimeFormat, a.Syslog, a.Aliases, a.Ignored)
			}
		}},
		{"syslog without argument", "account a\nhost h\nsyslog\n", func(t *testing.T, a *Account) {
			if a.Syslog != "on" {
				t.Errorf("syslog %q", a.Syslog)
			}
		}},
		{"tls_nocertcheck", "account a\nhost h\ntls_nocertcheck\n", func(t *testing.T, a *Account) {
			if a.CertCheck || a.Set["tls_certcheck"].Line != 3 {
				t.Errorf("certcheck %v", a.CertCheck)
			}
		}},
		{"auth mechanism", "account a\nhost h\nauth scram-sha-256\n", func(t *testing.T, a *Account) {
			if a.Auth != "scram-sha-256" {
				t.Errorf("auth %q", a.Auth)
			}
		}},
		{"empty user unsets", "account a\nhost h\nuser joe\nuser\n", func(t *testing.T, a *Account) {
			if a.User != "" {
				t.Errorf("user %q", a.User)
			}
		}},
		{"NUL ends the line", "account a\nhost h\x00ignored\n", func(t *testing.T, a *Account) {
			if a.Host != "h" {
				t.Errorf("host %q", a.Host)
			}
		}},
		{"no newline at end", "account a\nhost h", func(t *testing.T, a *Account) {
			if a.Host != "h" {
				t.Errorf("host %q", a.Host)
			}
		}},
		{"499 characters", "account a\nhost " + strings.Repeat("h", 494) + "\n", func(t *testing.T, a *Account) {
			if len(a.Host) != 494 {
				t.Errorf("host length %d", len(a.Host))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustAccount(t, tt.text, "a"))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
		key  string
		msg  string
	}{
		{"unknown command", "account a\nhost h\nfoo bar\n", 3, "foo", "unknown command foo"},
		{"upper case command", "account a\nHOST h\n", 2, "HOST", "unknown command HOST"},
		{"host needs argument", "account a\nhost\n", 2, "host", "command host needs an argument"},
		{"bad port", "account a\nhost h\nport 70000\n", 3, "port", "invalid argument 70000 for command port"},
		{"port garbage", "account a\nhost h\nport 25x\n", 3, "port", "invalid argument 25x"},
		{"port zero", "account a\nhost h\nport 0\n", 3, "port", "invalid argument 0"},
		{"octal 8", "account a\nhost h\nport 08\n", 3, "port", "invalid argument 08"},
		{"timeout zero", "account a\nhost h\ntimeout 0\n", 3, "timeout", "invalid argument 0"},
		{"on is lower case", "account a\nhost h\ntls ON\n", 3, "tls", "invalid argument ON for command tls"},
		{"bad auth", "account a\nhost h\nauth bogus\n", 3, "auth", "invalid argument bogus"},
		{"bad fingerprint", "account a\nhost h\ntls_fingerprint 0011\n", 3, "tls_fingerprint", "invalid argument 0011"},
		{"defaults argument", "defaults x\n", 1, "defaults", "does not take an argument"},
		{"duplicate account", "account a\nhost h\naccount a\n", 3, "account", "account a was already defined"},
		{"undefined parent", "account c : zz\n", 1, "account", "account zz not (yet) defined"},
		{"parent defined later", "account c : b\naccount b\n", 1, "account", "account b not (yet) defined"},
		{"empty parent", "account a\naccount c : a,\n", 2, "account", "missing account name"},
		{"missing name", "account\n", 1, "account", "missing account name"},
		{"comma in name", "account a,b\n", 1, "account", "must not contain colons or commas"},
		{"line too long", "account a\nhost " + strings.Repeat("h", 495) + "\n", 2, "", "line longer than 500 characters"},
		{"CR counts", "account a\nhost " + strings.Repeat("h", 494) + "\r\n", 2, "", "line longer than 500 characters"},
		{"eval disabled", "account a\neval echo host h\n", 2, "eval", "eval is not enabled"},
		{"nocertcheck argument", "account a\ntls_nocertcheck off\n", 2, "tls_nocertcheck", "does not take an argument"},
		{"allow_from_override needs on/off", "account a\nallow_from_override\n", 2, "allow_from_override", "invalid argument  for command"},
		{"dsn_notify spaces", "account a\ndsn_notify failure, delay\n", 2, "dsn_notify", "invalid argument"},
		{"lmtp", "account a\nprotocol lmtp\n", 2, "protocol", "lmtp is not supported"},
		{"proxy refused", "account a\nproxy_host 127.0.0.1\n", 2, "proxy_host", "not supported"},
		{"tls_pin tlsmail syntax", "account a\ntls_pin sha1/abc\n", 2, "tls_pin", "invalid argument sha1/abc"},
		{"revocation", "account a\nrevocation maybe\n", 2, "revocation", "invalid argument maybe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.text)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ce.File != "test.rc" || ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got %+v, want line %d key %q msg ~%q", ce, tt.line, tt.key, tt.msg)
			}
			if !strings.HasPrefix(ce.Error(), "test.rc:") {
				t.Errorf("Error() = %q does not start with the file and line", ce.Error())
			}
		})
	}
}

func TestUnknownCommandFix(t *testing.T) {
	_, err := parse(t, "account a\nTLS_STARTTLS on\n")
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Fix, "write tls_starttls") {
		t.Fatalf("err = %v", err)
	}
}

const inheritRC = `
defaults
port 587
tls on
tls_trust_file system
logfile ~/.msmtp.log

account base
host smtp.example.org
from joe@example.org
auth on
user joe

account other
host mail.example.net
from *@example.net
port 2525

defaults
port 25

# inherits base's explicit settings, not the defaults it was filled with
account child : base
from joey@example.org

account both : base, other
user both

account default : child
`

func TestInheritance(t *testing.T) {
	f, err := parse(t, inheritRC)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		account          string
		host, from, user string
		port             int
		portOrigin       Origin
	}{
		{"base", "smtp.example.org", "joe@example.org", "joe", 587, Origin{Line: 3, Defaults: true}},
		{"other", "mail.example.net", "*@example.net", "", 2525, Origin{Line: 17}},
		{"child", "smtp.example.org", "joey@example.org", "joe", 25, Origin{Line: 20, Defaults: true}},
		{"both", "mail.example.net", "*@example.net", "both", 2525, Origin{Line: 17}},
		{"default", "smtp.example.org", "joey@example.org", "joe", 25, Origin{Line: 20, Defaults: true}},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			a, err := f.Account(tt.account)
			if err != nil {
				t.Fatal(err)
			}
			if a.Host != tt.host || a.From != tt.from || a.User != tt.user || a.Port != tt.port {
				t.Errorf("host %q from %q user %q port %d", a.Host, a.From, a.User, a.Port)
			}
			if a.Set["port"] != tt.portOrigin {
				t.Errorf("port origin %+v, want %+v", a.Set["port"], tt.portOrigin)
			}
			if !a.TLS || a.Auth != "on" && tt.account != "other" {
				t.Errorf("tls %v auth %q", a.TLS, a.Auth)
			}
			if a.LogFile != "/home/joe/.msmtp.log" {
				t.Errorf("logfile %q", a.LogFile)
			}
		})
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"base", "other", "child", "both", "default"}) {
		t.Errorf("Names = %v", got)
	}
}

func TestSelect(t *testing.T) {
	f, err := parse(t, inheritRC)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, want string
	}{
		{"", "", "default"},
		{"other", "joe@example.org", "other"},
		{"", "JOE@example.ORG", "base"},       // literal from: case-insensitive
		{"", "anyone@example.net", "other"},   // wildcard
		{"", "anyone@EXAMPLE.NET", "default"}, // wildcard is case-sensitive (fnmatch)
		{"", "joey@example.org", "child"},     // first match in file order
		{"", "stranger@example.com", "default"},
	}
	for _, tt := range tests {
		a, err := f.Select(tt.name, tt.from)
		if err != nil {
			t.Errorf("Select(%q, %q): %v", tt.name, tt.from, err)
			continue
		}
		if a.Name != tt.want {
			t.Errorf("Select(%q, %q) = %s, want %s", tt.name, tt.from, a.Name, tt.want)
		}
	}
	if _, err := f.Select("nope", ""); err == nil || !strings.Contains(err.Error(), "account nope not found") || !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("Select(nope) = %v", err)
	}
	g, _ := parse(t, "account a\nhost h\n")
	var ce *Error
	if _, err := g.Select("", "x@y"); !errors.As(err, &ce) || !strings.Contains(ce.Fix, "account default : NAME") || !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("no default: %v", err)
	}
}

func TestCompatDefaultAccount(t *testing.T) {
	a := mustAccount(t, "host h\nfrom x@y\n", "default")
	if a.Host != "h" || a.Line != 1 {
		t.Errorf("%+v", a)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		text, key string
	}{
		{"account a\nport 25\n", "host"},
		{"account a\nhost h\ntls_key_file k\n", "tls_key_file"},
		{"account a\nhost h\ntls_cert_file c\n", "tls_cert_file"},
		{"account a\nhost h\ntls\ntls_trust_file\n", "tls_trust_file"},
		{"account a\nhost h\ntls\ntls_trust_file\ntls_fingerprint " + sha256FP + "\n", ""},
		{"account a\nhost h\ntls\ntls_trust_file\ntls_certcheck off\n", ""},
		{"account a\nhost h\ntls\n", ""},
		// host:port, blanks, a leading '-' never resolve: refused here
		// rather than queued for ever (msmtp exits 68 when it sends).
		{"account a\nhost mail.example.com:587\n", "host"},
		{"account a\nhost \"bad host\"\n", "host"},
		{"account a\nhost -oProxyCommand=x\n", "host"},
		{"account a\nhost a@b\n", "host"},
		{"account a\nhost 2001:db8::1\n", ""},
		{"account a\nhost [2001:db8::1]\n", ""},
		{"account a\nhost fe80::1%eth0\n", ""},
		{"account a\nhost 192.0.2.1\n", ""},
		{"account a\nhost mail-1.example.com.\n", ""},
	}
	for _, tt := range tests {
		a := mustAccount(t, tt.text, "a")
		err := a.Check()
		if err == nil {
			err = a.CheckHost()
		}
		var ce *Error
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("%q: Check = %v", tt.text, err)
		case tt.key != "" && (!errors.As(err, &ce) || ce.Key != tt.key || ce.Fix == ""):
			t.Errorf("%q: Check = %v, want key %s", tt.text, err, tt.key)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := mustAccount(t, "account a\nhost h\ntls_fingerprint "+sha256FP+"\nsource_ip 127.0.0.1\n", "a")
	b := a.Clone()
	b.Fingerprint[0] = 0xee
	b.Ignored["source_ip"] = "y"
	b.Set["host"] = Origin{Line: 99}
	if a.Fingerprint[0] != 0 || a.Ignored["source_ip"] != "127.0.0.1" || a.Set["host"].Line != 2 {
		t.Error("Clone shares state with the original")
	}
}

func TestEval(t *testing.T) {
	calls := 0
	opts := Options{Eval: func(ctx context.Context, cmd string) (string, error) {
		calls++
		switch cmd {
		case "echo host":
			return "host evaluated.example", nil
		case "nested":
			return "eval echo host", nil
		}
		return "", errors.New("boom")
	}}
	f, err := Parse(context.Background(), "e.rc", strings.NewReader("account a\neval echo host\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.Accounts[0].Host != "evaluated.example" {
		t.Errorf("host %q", f.Accounts[0].Host)
	}
	_, err = Parse(context.Background(), "e.rc", strings.NewReader("account a\neval nested\n"), opts)
	if err == nil || !strings.Contains(err.Error(), "unknown command eval") {
		t.Errorf("nested eval: %v", err)
	}
	_, err = Parse(context.Background(), "e.rc", strings.NewReader("account a\neval fails\n"), opts)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(ce.Msg, "cannot read output of 'fails'") {
		t.Errorf("failing eval: %v", err)
	}
}

func TestRunCommand(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	ctx := context.Background()
	got, err := RunCommand(ctx, "printf 's3cret\\r\\nsecond\\n'")
	if err != nil || got != "s3cret" {
		t.Errorf("RunCommand = %q, %v", got, err)
	}
	_, err = RunCommand(ctx, `echo se""cret; exit 3`)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("failing command: %v (must fail without showing its output)", err)
	}
	if _, err := RunCommand(ctx, "true"); err == nil {
		t.Error("no output: want an error")
	}
}

func TestLocate(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	write := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("account a\nhost h\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing exists yet.
	_, err := Locate("", env(nil), home)
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, ".msmtprc") {
		t.Fatalf("no file: %v", err)
	}
	msmtprc := filepath.Join(home, ".msmtprc")
	write(msmtprc)
	xdgDefault := filepath.Join(home, ".config", "tlsmail", "config")
	tests := []struct {
		name     string
		explicit string
		env      map[string]string
		setup    func()
		want     string
	}{
		{"msmtprc", "", nil, nil, msmtprc},
		{"xdg default", "", nil, func() { write(xdgDefault) }, xdgDefault},
		{"xdg env", "", map[string]string{"XDG_CONFIG_HOME": xdg}, func() { write(filepath.Join(xdg, "tlsmail", "config")) }, filepath.Join(xdg, "tlsmail", "config")},
		{"env wins", "", map[string]string{"TLSMAIL_CONFIG": "/etc/t.rc", "XDG_CONFIG_HOME": xdg}, nil, "/etc/t.rc"},
		{"explicit wins", "~/my.rc", map[string]string{"TLSMAIL_CONFIG": "/etc/t.rc"}, nil, filepath.Join(home, "my.rc")},
	}
	for _, tt := range tests {
		if tt.setup != nil {
			tt.setup()
		}
		got, err := Locate(tt.explicit, env(tt.env), home)
		if err != nil || got != tt.want {
			t.Errorf("%s: Locate = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(context.Background(), filepath.Join(t.TempDir(), "none"), Options{})
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) || ce.Fix == "" {
		t.Fatalf("Load = %v", err)
	}
}

// The example user configuration from msmtp's manual, as people copy it.
const manualRC = `# Example for a user configuration file ~/.msmtprc
#
# This file focusses on TLS and authentication. Features not used here include
# logging, timeouts, SOCKS proxies, TLS parameters, Delivery Status Notification
# (DSN) settings, and more.

# Set default values for all following accounts.
defaults

# Use the mail submission port 587 instead of the SMTP port 25.
port 587

# Always use TLS.
tls on

# Set a list of trusted CAs for TLS. The default is to use system settings, but
# you can select your own file.
#tls_trust_file /etc/ssl/certs/ca-certificates.crt

# A freemail service
account freemail

# Host name of the SMTP server
host smtp.freemail.example

# As an alternative to tls_trust_file, you can use tls_fingerprint
# to pin a single certificate. You have to update the fingerprint when the
# server certificate changes, but an attacker cannot trick you into accepting
# a fraudulent certificate. Get the fingerprint with
# $ msmtp --serverinfo --tls --tls-certcheck=off --host=smtp.freemail.example
#tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33

# Envelope-from address
from joe_smith@freemail.example

# Authentication. The password is given using one of five methods, see below.
auth on
user joe.smith

# Password method 2: Store the password in an encrypted file, and tell msmtp
# which command to use to decrypt it.
passwordeval gpg2 --no-tty -q -d ~/.msmtp-password.gpg

# A second mail address at the same freemail service
account freemail2 : freemail
from joey@freemail.example

# The SMTP server of your ISP
account isp
host mail.isp.example
from smithjoe@isp.example
auth on
user 12345

# Set a default account
account default : freemail
`

func TestManualSample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".msmtprc")
	if err := os.WriteFile(path, []byte(manualRC), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(context.Background(), path, Options{Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"freemail", "freemail2", "isp", "default"}) {
		t.Fatalf("accounts %v", got)
	}
	a, err := f.Select("", "joey@freemail.example")
	if err != nil || a.Name != "freemail2" {
		t.Fatalf("Select by from = %v, %v", a, err)
	}
	if a.Host != "smtp.freemail.example" || a.Port != 587 || !a.TLS || !a.StartTLS || a.User != "joe.smith" ||
		a.PasswordEval != "gpg2 --no-tty -q -d ~/.msmtp-password.gpg" || a.TrustFile != "system" {
		t.Errorf("freemail2 = %+v", a)
	}
	if err := a.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	d, _ := f.Select("", "")
	if d.Name != "default" || d.From != "joe_smith@freemail.example" {
		t.Errorf("default = %+v", d)
	}
	isp, _ := f.Account("isp")
	if isp.Port != 587 || isp.User != "12345" || isp.Set["port"] != (Origin{Line: 11, Defaults: true}) {
		t.Errorf("isp = %+v", isp)
	}
}

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*@example.org", "joe@example.org", true},
		{"*@example.org", "joe@example.org.evil", false},
		{"*", "a/b", true},
		{"j?e@x", "joe@x", true},
		{"j?e@x", "je@x", false},
		{"[jk]oe@x", "koe@x", true},
		{"[!jk]oe@x", "koe@x", false},
		{"[^jk]oe@x", "moe@x", true},
		{"[a-c]*", "bob", true},
		{"[a-c]*", "dan", false},
		{"[]]x", "]x", true},
		{"[x", "[x", true},
		{`\*x`, "*x", true},
		{`\*x`, "ax", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxbxx", false},
		{"", "", true},
		{"ü?", "üß", true},
	}
	for _, tt := range tests {
		if got := fnmatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestKeyDocsAreAccepted(t *testing.T) {
	for _, list := range [][]KeyInfo{Keys(), IgnoredKeys()} {
		for _, k := range list {
			if k.Name == "defaults" || k.Name == "account" || k.Name == "eval" {
				continue
			}
			a := newAccount("x", "", 0)
			ck, ca, err := canonical(k.Name, "off")
			if err != nil {
				ck, ca = k.Name, "off"
			}
			if known, _ := applyKey(a, ck, ca, ""); !known {
				t.Errorf("documented key %s is not accepted", k.Name)
			}
		}
	}
}

func TestRunCommandBounded(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// The command waits forever and a background child keeps stdout open.
	_, err := RunCommand(ctx, "sleep 30 & sleep 30")
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	line, err := RunCommand(context.Background(), "yes secret | head -c 1000000; echo")
	if err != nil || line != "secret" {
		t.Errorf("line %q (%d bytes), err %v", line[:min(len(line), 20)], len(line), err)
	}
}
