package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// TestParseSendmailArgs feeds the command lines real callers use (PHP's
// mail(), Debian's cron and cronie, git send-email, mutt, Postfix's
// sendmail(1) options) and the ones that must be refused.
func TestParseSendmailArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want sendmailArgs
		err  string // substring of the usage error
	}{
		{name: "php default", args: []string{"-t", "-i"},
			want: sendmailArgs{mode: 'm', extract: true, ignoreDots: true}},
		{name: "php with -f attached", args: []string{"-t", "-i", "-fweb@example.com"},
			want: sendmailArgs{mode: 'm', extract: true, ignoreDots: true, from: "web@example.com"}},
		{name: "clustered -ti and -f separate", args: []string{"-ti", "-f", "web@example.com"},
			want: sendmailArgs{mode: 'm', extract: true, ignoreDots: true, from: "web@example.com"}},
		{name: "debian cron", args: []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"},
			want: sendmailArgs{mode: 'm', ignoreDots: true, fullName: "CronDaemon", rcpts: []string{"root"}}},
		{name: "cronie", args: []string{"-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t"},
			want: sendmailArgs{mode: 'm', extract: true, ignoreDots: true, fullName: "CronDaemon"}},
		{name: "git send-email", args: []string{"-i", "-f", "ann@example.com", "bob@example.org", "carol@example.org"},
			want: sendmailArgs{mode: 'm', ignoreDots: true, from: "ann@example.com", rcpts: []string{"bob@example.org", "carol@example.org"}}},
		{name: "mutt", args: []string{"-oem", "-oi", "-B", "8BITMIME", "--", "bob@example.org"},
			want: sendmailArgs{mode: 'm', ignoreDots: true, rcpts: []string{"bob@example.org"}}},
		{name: "postfix options ignored, DSN kept", args: []string{"-N", "never", "-bm", "-v", "-R", "hdrs", "-V", "env1", "-h", "5", "-L", "x", "-Am", "-G", "-U", "-n", "-m", "-o7", "-oXfoo", "-r", "a@example.com", "b@example.com"},
			want: sendmailArgs{mode: 'm', verbose: true, from: "a@example.com", rcpts: []string{"b@example.com"},
				overrides: [][2]string{{"dsn_notify", "never"}, {"dsn_return", "headers"}}}},
		{name: "DSN attached and long", args: []string{"-Nfailure,delay", "--dsn-return=full", "-Rheaders", "--dsn-notify", "off", "b@example.com"},
			want: sendmailArgs{mode: 'm', rcpts: []string{"b@example.com"},
				overrides: [][2]string{{"dsn_notify", "failure,delay"}, {"dsn_return", "full"}, {"dsn_return", "headers"}, {"dsn_notify", "off"}}}},
		{name: "options after recipients", args: []string{"bob@example.org", "-i"},
			want: sendmailArgs{mode: 'm', ignoreDots: true, rcpts: []string{"bob@example.org"}}},
		{name: "msmtp long options", args: []string{"--file=/x/cfg", "--account", "work", "--read-recipients", "--from=a@example.com", "--queue-dir=/q"},
			want: sendmailArgs{mode: 'm', extract: true, config: "/x/cfg", account: "work", from: "a@example.com", queueDir: "/q"}},
		{name: "-C and -a", args: []string{"-C", "/etc/msmtprc", "-awork", "-t"},
			want: sendmailArgs{mode: 'm', extract: true, config: "/etc/msmtprc", account: "work"}},
		{name: "-odq only queues", args: []string{"-odq", "-t"},
			want: sendmailArgs{mode: 'm', extract: true, deferOnly: true}},
		{name: "-bp lists", args: []string{"-bp"}, want: sendmailArgs{mode: 'p'}},
		{name: "-q runs", args: []string{"-q30m"}, want: sendmailArgs{mode: 'q'}},
		{name: "-o with separate argument", args: []string{"-o", "i", "x@example.com"},
			want: sendmailArgs{mode: 'm', ignoreDots: true, rcpts: []string{"x@example.com"}}},
		{name: "help", args: []string{"--help"}, want: sendmailArgs{mode: 'm', help: true}},
		{name: "msmtp log options", args: []string{"-X", "/var/log/a", "--logfile-time-format=%F", "--syslog", "x@example.com"},
			want: sendmailArgs{mode: 'm', rcpts: []string{"x@example.com"}, log: logFlags{file: ptr("/var/log/a"), timeFormat: ptr("%F"), syslog: ptr("on")}}},
		{name: "--logfile and --syslog=LOG_MAIL", args: []string{"--logfile", "-", "--syslog=LOG_MAIL", "-t"},
			want: sendmailArgs{mode: 'm', extract: true, log: logFlags{file: ptr("-"), syslog: ptr("LOG_MAIL")}}},
		{name: "msmtp account options", args: []string{"--host=smtp.example.com", "--port", "587", "--tls", "--tls-starttls=off", "--auth=plain",
			"--user=ann", "--passwordeval=pass show mail", "--domain=client.example", "--aliases=/etc/aliases", "root"},
			want: sendmailArgs{mode: 'm', host: true, rcpts: []string{"root"}, overrides: [][2]string{{"host", "smtp.example.com"}, {"port", "587"},
				{"tls", ""}, {"tls_starttls", "off"}, {"auth", "plain"}, {"user", "ann"}, {"passwordeval", "pass show mail"}, {"domain", "client.example"}, {"aliases", "/etc/aliases"}}}},
		{name: "msmtp modes", args: []string{"-P", "-d", "--read-envelope-from", "-t"},
			want: sendmailArgs{mode: 'm', pretend: true, verbose: true, readEnvelopeFrom: true, extract: true}},
		{name: "sendmail -d0.1", args: []string{"-d0.1", "-t"}, want: sendmailArgs{mode: 'm', verbose: true, extract: true}},
		{name: "--host with -a refused", args: []string{"--host=h", "-a", "work", "x@example.com"}, err: "cannot be used together"},
		{name: "--serverinfo refused", args: []string{"--serverinfo"}, err: "--serverinfo"},
		{name: "-S refused", args: []string{"-S"}, err: "-S"},
		{name: "--rmqs refused", args: []string{"--rmqs=@example.com"}, err: "ETRN"},
		{name: "--configure refused", args: []string{"--configure=a@example.com"}, err: "--configure"},
		{name: "--port needs a value", args: []string{"--port"}, err: "--port needs an argument"},
		{name: "-bs refused", args: []string{"-bs"}, err: "-bs"},
		{name: "-bd refused", args: []string{"-bd"}, err: "-bd is not supported"},
		{name: "-I refused", args: []string{"-I"}, err: "newaliases"},
		{name: "unknown option", args: []string{"-Z"}, err: "unknown option -Z"},
		{name: "unknown long option", args: []string{"--bogus"}, err: "unknown option --bogus"},
		{name: "-f without argument", args: []string{"-t", "-f"}, err: "-f needs an argument"},
		{name: "empty --domain refused", args: []string{"--domain=", "x@example.com"}, err: "--domain"},
		{name: "null sender <>", args: []string{"-f", "<>", "x@example.com"}, want: sendmailArgs{mode: 'm', nullSender: true, rcpts: []string{"x@example.com"}}},
		{name: "null sender ''", args: []string{"-f", "", "x@example.com"}, want: sendmailArgs{mode: 'm', nullSender: true, rcpts: []string{"x@example.com"}}},
		{name: "null sender --from=", args: []string{"--from=", "x@example.com"}, want: sendmailArgs{mode: 'm', nullSender: true, rcpts: []string{"x@example.com"}}},
		{name: "a later -f is no null sender", args: []string{"-f", "", "-f", "a@example.com", "x@example.com"}, want: sendmailArgs{mode: 'm', from: "a@example.com", rcpts: []string{"x@example.com"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSendmailArgs(tc.args)
			if tc.err != "" {
				var ce *cliError
				if !errors.As(err, &ce) || ce.kind != kindUsage || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tc.err)
				}
				if ce.fix == "" {
					t.Errorf("the error %q says nothing about what to do", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestSendmailArgv(t *testing.T) {
	tests := []struct {
		argv, want []string
	}{
		{[]string{"/usr/bin/tlsmail", "send", "-x"}, []string{"send", "-x"}},
		{[]string{"/usr/sbin/sendmail", "-t", "-i"}, []string{"sendmail", "-t", "-i"}},
		{[]string{`C:\bin\SENDMAIL.EXE`, "-t"}, []string{"sendmail", "-t"}},
		{[]string{"mailq"}, []string{"sendmail", "-bp"}},
		{[]string{"sendmail-wrapper", "-t"}, []string{"-t"}},
	}
	for _, tc := range tests {
		if filepath.Separator != '\\' && strings.Contains(tc.argv[0], `\`) {
			continue
		}
		if got := sendmailArgv(tc.argv); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("sendmailArgv(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

// TestResolveQueueDir checks the order: flag, TLSMAIL_QUEUE_DIR, the
// configuration's queue_dir, XDG_STATE_HOME, ~/.local/state.
func TestResolveQueueDir(t *testing.T) {
	if filepath.Separator == '\\' {
		t.Skip("the default differs on Windows (LOCALAPPDATA)")
	}
	tests := []struct {
		flag, cfg string
		env       map[string]string
		want      string
	}{
		{"/f", "/c", map[string]string{"TLSMAIL_QUEUE_DIR": "/e", "HOME": "/h"}, "/f"},
		{"", "/c", map[string]string{"TLSMAIL_QUEUE_DIR": "/e", "HOME": "/h"}, "/e"},
		{"", "/c", map[string]string{"HOME": "/h", "XDG_STATE_HOME": "/s"}, "/c"},
		{"", "", map[string]string{"HOME": "/h", "XDG_STATE_HOME": "/s"}, "/s/tlsmail/queue"},
		{"", "", map[string]string{"HOME": "/h", "XDG_STATE_HOME": "relative"}, "/h/.local/state/tlsmail/queue"},
		{"", "", map[string]string{"HOME": "/h"}, "/h/.local/state/tlsmail/queue"},
	}
	for i, tc := range tests {
		e := &env{getenv: func(k string) string { return tc.env[k] }}
		loc, err := resolveQueue(e, tc.flag, "", tc.cfg, "")
		if got := loc.Dir; err != nil || got != tc.want {
			t.Errorf("case %d: got %q, %v; want %q", i, got, err, tc.want)
		}
	}
	e := &env{getenv: func(string) string { return "" }}
	if _, err := resolveQueue(e, "", "", "", ""); err == nil {
		t.Error("no HOME and nothing else: want a configuration error")
	}
}

// TestSettingsRoundTrip turns send flags into an outbox account and back:
// the connection planned at delivery is the one planned at enqueue, and
// the settings name the password's source, never the password.
func TestSettingsRoundTrip(t *testing.T) {
	const secret = "s3cret-value-never-stored"
	e := &env{getenv: func(k string) string {
		if k == "PW" {
			return secret
		}
		return ""
	}, providers: newProviders()}
	tests := []struct {
		name string
		o    sendOptions
		ref  submit.SecretRef
	}{
		{"env, implicit, pins", sendOptions{server: "mail.example.com:465", user: "ann", auth: "auto",
			password: passwordFlags{env: "PW"}, pins: []string{"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
			submit.SecretRef{Source: submit.SecretEnv, Ref: "PW"}},
		{"command, named mechanism, tls-name", sendOptions{server: "10.0.0.1", user: "ann", auth: "PLAIN", authSet: true,
			tlsName: "mail.example.com", password: passwordFlags{cmd: "echo " + secret}},
			submit.SecretRef{Source: submit.SecretCommand, Ref: "echo " + secret}},
		{"no auth, plaintext", sendOptions{server: "[::1]:25", tlsMode: "none", auth: "auto"}, submit.SecretRef{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.provider, o.timeout = defaultProvider, 30*time.Second
			p, err := planConnection(e, &o)
			if err != nil {
				t.Fatal(err)
			}
			s, err := accountFor(&o, p)
			if err != nil {
				t.Fatal(err)
			}
			if s.Auth.Secret != tc.ref {
				t.Errorf("secret = %+v, want %+v", s.Auth.Secret, tc.ref)
			}
			p2, err := e.connector().Plan(context.Background(), &s)
			if err != nil {
				t.Fatal(err)
			}
			if p2.Addr != p.addr || p2.Config.Mode != p.cfg.Mode || p2.Config.TLS.ServerName != p.cfg.TLS.ServerName ||
				!reflect.DeepEqual(p2.Config.TLS.Trust.Pins, p.cfg.TLS.Trust.Pins) || p2.Config.Timeout != p.cfg.Timeout {
				t.Errorf("plans differ:\n%+v\n%+v", p.cfg, p2.Config)
			}
			if p2.Authenticate != nil {
				if err := p2.Authenticate(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if o.user != "" && (p2.Config.Auth == nil || p2.Config.Auth.Password != secret || p2.Config.Auth.Username != o.user) {
				t.Errorf("the secret was not read again from its source: %+v", p2.Config.Auth)
			}
		})
	}
	// A password with no source to read it from again cannot be queued.
	o := sendOptions{server: "mail.example.com", user: "ann", auth: "auto", provider: defaultProvider,
		timeout: time.Second, password: passwordFlags{literal: secret}}
	p, err := planConnection(e, &o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accountFor(&o, p); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("a literal password: err = %v, want a refusal without the password", err)
	}
}

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }

func TestClassifyDelivery(t *testing.T) {
	tests := []struct {
		err  error
		want outbox.Outcome
	}{
		{nil, outbox.Delivered},
		{&smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 535}}, outbox.Temporary},
		{&smtp.Error{Kind: smtp.KindAuth, Op: "MAIL FROM", Reply: &smtp.Reply{Code: 530}}, outbox.Temporary},
		{&smtp.Error{Kind: smtp.KindRejected, Op: "RCPT TO", Reply: &smtp.Reply{Code: 550}}, outbox.Permanent},
		{&smtp.Error{Kind: smtp.KindRejected, Op: "RCPT TO", Reply: &smtp.Reply{Code: 451}}, outbox.Temporary},
	}
	for _, tt := range tests {
		if got := submit.Classify(tt.err).Outcome; got != tt.want {
			t.Errorf("submit.Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestSendmailCheckSyslog: syslog is refused on Windows (exit 78 with a fix), and
// accepted elsewhere or when off.
func TestSendmailCheckSyslog(t *testing.T) {
	for _, tc := range []struct {
		goos, v string
		refused bool
	}{
		{"windows", "on", true}, {"windows", "LOG_MAIL", true}, {"windows", "off", false}, {"windows", "", false},
		{"linux", "LOG_MAIL", false}, {"darwin", "on", false},
	} {
		err := checkSyslog(tc.goos, tc.v, "account a")
		var ce *cliError
		if got := errors.As(err, &ce) && ce.kind == kindConfig && ce.fix != ""; got != tc.refused || (err != nil) != tc.refused {
			t.Errorf("%s %q: %v", tc.goos, tc.v, err)
		}
	}
}
