package submit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/smtp"
)

// TestAccountReadsLegacySettings: the settings of an item queued by the
// tlsmail before Account (the outbox's former Settings type, written here
// byte for byte as that version encoded them) decode into the Account that
// means the same delivery.
func TestAccountReadsLegacySettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		want Account
	}{
		{"plain", `{"host":"mx.example","port":587,"tls":"starttls","trust_file":"system"}`,
			Account{Host: "mx.example", Port: 587, Mode: smtp.StartTLS}},
		{"everything", `{"config_file":"/home/u/.msmtprc","account":"work","host":"10.0.0.5","port":465,"tls":"implicit",` +
			`"trust_file":"/etc/ca.pem","pins":["sha256/AA"],"insecure":true,"server_name":"mail.example","cert_file":"/c.pem",` +
			`"key_file":"/k.pem","provider":"go","revocation":"strict","auth":"PLAIN","user":"ann",` +
			`"secret":{"source":"config","ref":"work"},"domain":"client.example","timeout":7000000000}`,
			Account{ConfigFile: "/home/u/.msmtprc", Name: "work", Host: "10.0.0.5", Port: 465, Mode: smtp.Implicit,
				Trust:    Trust{CAFile: "/etc/ca.pem", Pins: []string{"sha256/AA"}, Insecure: true, ServerName: "mail.example", Revocation: "strict"},
				Client:   ClientIdentity{CertFile: "/c.pem", KeyFile: "/k.pem"},
				Provider: "go", LocalName: "client.example", Timeout: 7 * time.Second,
				Auth: Auth{Mechanism: "PLAIN", User: "ann", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}},
		{"auth on", `{"host":"h","port":25,"tls":"none","auth":"on","user":"u","secret":{"source":"env","ref":"PW"}}`,
			Account{Host: "h", Port: 25, Mode: smtp.None, Auth: Auth{Mechanism: "AUTO", User: "u", Secret: SecretRef{Source: SecretEnv, Ref: "PW"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Account
			if err := json.Unmarshal([]byte(tc.s), &a); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, tc.want) {
				t.Errorf("decoded %s\n as %+v\nwant %+v", tc.s, a, tc.want)
			}
		})
	}
	var a Account
	if err := json.Unmarshal([]byte(`{"host":"h","port":1,"extra":{"x":"y"}}`), &a); err == nil {
		t.Errorf("settings with extra decoded without error: %+v", a)
	}
}

// TestAccountRoundTrip: every field survives JSON, the Windows client
// identity included (send --queue lost it before Account), and the
// grouping key tells apart accounts that differ only there.
func TestAccountRoundTrip(t *testing.T) {
	a := Account{ConfigFile: "/f", Name: "n", Host: "h", Port: 2525, Mode: smtp.StartTLS,
		Trust:    Trust{CAFile: "/ca", Pins: []string{"sha256/x"}, ServerName: "s", Revocation: "off", Insecure: true, CRLFile: "/crl.pem"},
		Client:   ClientIdentity{Store: `LocalMachine\MY`, Thumbprint: "ABCD", PFXFile: "/p.pfx", PFXPassword: SecretRef{Source: SecretFile, Ref: "/pw"}},
		Provider: "schannel", LocalName: "me", Timeout: time.Minute,
		Auth: Auth{Mechanism: "SCRAM-SHA-256", User: "u", Secret: SecretRef{Source: SecretCommand, Ref: "pass show x"}},
		Log:  Log{File: "/var/log/msmtp", TimeFormat: "%F %T", Syslog: "LOG_MAIL"}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var got Account
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("round trip through %s\n gave %+v\nwant %+v", b, got, a)
	}
	other := a
	other.Client.Thumbprint = "EF01"
	if a.Key() == other.Key() {
		t.Errorf("accounts with different client certificates share the grouping key %s", a.Key())
	}
	other = a
	other.Trust.CRLFile = ""
	if a.Key() == other.Key() {
		t.Errorf("accounts with and without a CRL file share the grouping key %s", a.Key())
	}
}

// TestFromConfig: an msmtp account becomes the Account tlsmail delivers
// with; its password is referred to, never copied.
func TestFromConfig(t *testing.T) {
	f, err := config.Parse(context.Background(), "/home/u/.msmtprc", strings.NewReader(`account work
host mail.example
port 465
tls on
tls_starttls off
tls_trust_file /etc/ssl/ca.pem
tls_cert_file /c.pem
tls_key_file /k.pem
tls_crl_file /etc/ssl/crl.pem
auth plain
user ann
password s3cret
domain client.example
`), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Account("work")
	if err != nil {
		t.Fatal(err)
	}
	a, err := FromConfig(f.Path, c)
	if err != nil {
		t.Fatal(err)
	}
	want := Account{ConfigFile: "/home/u/.msmtprc", Name: "work", Host: "mail.example", Port: 465, Mode: smtp.Implicit,
		Trust:     Trust{CAFile: "/etc/ssl/ca.pem", Pins: []string{}, CRLFile: "/etc/ssl/crl.pem"},
		Client:    ClientIdentity{CertFile: "/c.pem", KeyFile: "/k.pem"},
		LocalName: "client.example",
		Auth:      Auth{Mechanism: "PLAIN", User: "ann", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
	if a.Trust.Pins == nil {
		want.Trust.Pins = nil
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("FromConfig = %+v\nwant %+v", a, want)
	}
	if b, _ := json.Marshal(a); json.Valid(b) && strings.Contains(string(b), "s3cret") {
		t.Errorf("the Account's JSON holds the password: %s", b)
	}
}

// TestFromConfigRefusesFingerprint: tls_fingerprint is refused even beside
// tls_trust_file or tls_pin (msmtp would check the fingerprint; delivering
// with the other settings alone would silently check something else), as
// `tlsmail send --config` refuses it.
func TestFromConfigRefusesFingerprint(t *testing.T) {
	const fp = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
	for _, extra := range []string{
		"",
		"tls_trust_file /etc/ssl/ca.pem\n",
		"tls_pin sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	} {
		f, err := config.Parse(context.Background(), "/home/u/.msmtprc", strings.NewReader(
			"account a\nhost mail.example\ntls on\n"+extra+"tls_fingerprint "+fp+"\n"), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.Account("a")
		if err != nil {
			t.Fatal(err)
		}
		var ce *config.Error
		if _, err := FromConfig(f.Path, c); !errors.As(err, &ce) || ce.Key != "tls_fingerprint" {
			t.Errorf("with %q: FromConfig error = %v, want the tls_fingerprint line refused", extra, err)
		}
	}
}

// TestFromConfigExpandsDomain: an account read by a library user whose
// domain is msmtp's %H never makes EHLO say "%H": FromConfig expands it
// ($HOSTNAME, else the host name), as msmtp does.
func TestFromConfigExpandsDomain(t *testing.T) {
	f, err := config.Parse(context.Background(), "/home/u/.msmtprc", strings.NewReader("account a\nhost mail.example\ndomain mx.%H\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Account("a")
	if err != nil {
		t.Fatal(err)
	}
	a, err := FromConfig(f.Path, c)
	if err != nil {
		t.Fatal(err)
	}
	host := os.Getenv("HOSTNAME")
	if host == "" {
		if host, err = os.Hostname(); err != nil {
			t.Skip(err)
		}
	}
	if a.LocalName != "mx."+host || c.Domain != "mx.%H" {
		t.Errorf("LocalName %q (want mx.%s); the parsed account's domain became %q", a.LocalName, host, c.Domain)
	}
}

// TestPlanExpandsLegacyDomain: an item queued before %H %C %M were
// expanded when the message was accepted holds "domain %H" as written;
// the runner expands it in its own environment (as FromConfig does), so
// that EHLO never says "%H" after an upgrade either.
func TestPlanExpandsLegacyDomain(t *testing.T) {
	env := map[string]string{"HOSTNAME": "box.example"}
	c := &Connector{Getenv: func(k string) string { return env[k] }}
	var a Account
	if err := json.Unmarshal([]byte(`{"host":"mail.example","port":25,"tls":"none","domain":"mx.%H"}`), &a); err != nil {
		t.Fatal(err)
	}
	p, err := c.Plan(context.Background(), &a)
	if err != nil {
		t.Fatal(err)
	}
	if p.Config.LocalName != "mx.box.example" || a.LocalName != "mx.%H" {
		t.Errorf("EHLO name %q (want mx.box.example); the item's account became %q", p.Config.LocalName, a.LocalName)
	}
}

// TestAccountLogKept: FromConfig takes the account's msmtp log
// (logfile, logfile_time_format, syslog), Stored makes the log file
// absolute (a queue runner may start elsewhere) and leaves "-" alone, and
// an Account without a log is written without the log's keys, so that an
// earlier tlsmail still reads its items.
func TestAccountLogKept(t *testing.T) {
	c := config.NewAccount("a")
	c.Host, c.LogFile, c.LogTimeFormat, c.Syslog = "h", "rel.log", "%F", "LOG_MAIL"
	a, err := FromConfig("", c)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Log{File: "rel.log", TimeFormat: "%F", Syslog: "LOG_MAIL"}); a.Log != want {
		t.Errorf("FromConfig: Log %+v, want %+v", a.Log, want)
	}
	if s := a.Stored(); !filepath.IsAbs(s.Log.File) {
		t.Errorf("Stored: log file %q is not absolute", s.Log.File)
	}
	a.Log.File = "-"
	if s := a.Stored(); s.Log.File != "-" {
		t.Errorf("Stored: log file - became %q", s.Log.File)
	}
	none := Account{Host: "h"}
	if k := none.Key(); strings.Contains(k, "logfile") || strings.Contains(k, "syslog") {
		t.Errorf("an Account without a log is written with log keys: %s", k)
	}
}
