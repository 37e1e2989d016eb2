package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// findMsmtp returns Debian's msmtp, installing it when it is missing and the
// test runs as root with apt-get; the test is skipped only when that fails.
func findMsmtp(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("msmtp"); err == nil {
		return p
	}
	if apt, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, apt, "install", "-y", "msmtp").CombinedOutput()
		if err != nil {
			t.Logf("apt-get install msmtp: %v\n%s", err, out)
		}
		if p, err := exec.LookPath("msmtp"); err == nil {
			return p
		}
	}
	testpeer.Missing(t, "msmtp is not installed and cannot be installed (apt-get install -y msmtp)")
	return ""
}

// msmtpPretend runs `msmtp -C file -a account --pretend` and returns the
// settings it prints, or the error line.
func msmtpPretend(t *testing.T, msmtp, home, file, account string) (map[string]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-C", file, "--pretend"}
	if account != "" {
		args = append(args, "-a", account)
	}
	cmd := exec.CommandContext(ctx, msmtp, args...)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C", "USER=joe"}
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var msg []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "msmtp: ") {
				msg = append(msg, l)
			}
		}
		return nil, fmt.Errorf("%v: %s", err, strings.Join(msg, "; "))
	}
	vals := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " = "); ok {
			if _, dup := vals[k]; !dup {
				vals[k] = v
			}
		}
	}
	return vals, nil
}

// pretendView renders an account the way msmtp --pretend prints it.
func pretendView(a *Account) map[string]string {
	orNotSet := func(s string) string {
		if s == "" {
			return "(not set)"
		}
		return s
	}
	onOffText := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	auth := "none"
	switch a.Auth {
	case "":
	case "on":
		auth = "choose"
	default:
		auth = strings.ToUpper(a.Auth)
	}
	timeout := "off"
	if a.Timeout > 0 {
		timeout = fmt.Sprintf("%d seconds", int(a.Timeout/time.Second))
	}
	fp := "(not set)"
	if len(a.Fingerprint) > 0 {
		fp = FormatFingerprint(a.Fingerprint)
	}
	return map[string]string{
		"host":              a.Host,
		"port":              fmt.Sprint(a.ServerPort()),
		"timeout":           timeout,
		"domain":            a.Domain,
		"auth":              auth,
		"user":              orNotSet(a.User),
		"passwordeval":      orNotSet(a.PasswordEval),
		"tls":               onOffText(a.TLS),
		"tls_starttls":      onOffText(a.StartTLS),
		"tls_trust_file":    orNotSet(a.TrustFile),
		"tls_fingerprint":   fp,
		"tls_key_file":      orNotSet(a.KeyFile),
		"tls_cert_file":     orNotSet(a.CertFile),
		"tls_certcheck":     onOffText(a.CertCheck),
		"tls_host_override": orNotSet(a.TLSHostOverride),
		"tls_crl_file":      orNotSet(a.CRLFile),
		"from":              orNotSet(a.From),
	}
}

// TestSameAsMsmtp feeds the same files to Debian's msmtp and to Parse and
// checks that both accept or both reject each one, and that every setting
// msmtp prints is the value tlsmail read. The cases with refused set are
// the deliberate exceptions (RefusedKeys): msmtp accepts a command tlsmail
// cannot honour, and tlsmail refuses it, naming the command, rather than
// send as if it were not there.
func TestSameAsMsmtp(t *testing.T) {
	msmtp := findMsmtp(t)
	crl := filepath.Join(t.TempDir(), "crl.pem")
	if err := os.WriteFile(crl, []byte("not read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		text     string
		accounts []string
	}{
		// msmtp --pretend runs passwordeval: make it a command that works.
		{"manual", strings.Replace(manualRC, "gpg2 --no-tty -q -d ~/.msmtp-password.gpg", "echo pw", 1), []string{"freemail", "freemail2", "isp", "default", ""}},
		{"inheritance", inheritRC, []string{"base", "other", "child", "both", "default"}},
		{"bare", "account a\nhost h\n", []string{"a"}},
		{"quotes", "account a\nhost   \"  spaced  \"   \nuser \"x\\\"y\"\nfrom a@b # not a comment\n", []string{"a"}},
		{"odd quotes", "account a\nhost h\nuser \"\nfrom \"a\" \"b\"\n", []string{"a"}},
		{"crlf tabs", "# c\r\n\t# c\r\naccount\ta\r\n\thost\t\th\t\r\n", []string{"a"}},
		{"booleans", "account a\nhost h\ntls\ntls_starttls off\ntls_certcheck off\nauth\n", []string{"a"}},
		{"implicit tls port", "account a\nhost h\ntls on\ntls_starttls off\n", []string{"a"}},
		{"hex port", "account a\nhost h\nport 0x24B\n", []string{"a"}},
		{"octal port", "account a\nhost h\nport 010\n", []string{"a"}},
		{"signed port", "account a\nhost h\nport +26\n", []string{"a"}},
		{"timeouts", "account a\nhost h\nconnect_timeout 9\naccount b : a\nhost h\ntimeout off\n", []string{"a", "b"}},
		{"tilde", "account a\nhost h\ntls_trust_file ~/ca.pem\ntls_cert_file ~/c.pem\ntls_key_file ~/k.pem\n", []string{"a"}},
		{"fingerprint", "account a\nhost h\ntls on\ntls_fingerprint " + sha256FP + "\n", []string{"a"}},
		{"sha1 fingerprint spaces", "account a\nhost h\ntls_fingerprint " + strings.ReplaceAll(sha256FP[:59], ":", " ") + "\n", []string{"a"}},
		{"ignored keys", "account a\nhost h\nlogfile ~/log\nkeepbcc\nadd_missing_date_header off\ndsn_notify failure,delay\nsyslog LOG_MAIL\nset_msgid_header off\ndsn_return headers\nproxy_port 1080\nsource_ip\n", []string{"a"}},
		{"keys with no effect here", "account a\nhost h\ntls_crl_file\ntls_priorities\ntls_min_dh_prime_bits\ntls_force_sslv3 off\nauto_from off\nmaildomain example.org\nntlmdomain D\n", []string{"a"}},
		{"nocertcheck", "account a\nhost h\ntls\ntls_nocertcheck\n", []string{"a"}},
		{"auth mech", "account a\nhost h\nauth scram-sha-256\nuser u\npasswordeval echo x\n", []string{"a"}},
		{"unset user", "account a\nhost h\nuser joe\nuser\ndomain\n", []string{"a"}},
		{"host override", "account a\nhost h\ntls_host_override other.example\n", []string{"a"}},
		{"compat default", "host h\nfrom x@y\n", []string{""}},
		{"no final newline", "account a\nhost h", []string{"a"}},
		{"499 chars", "account a\nhost " + strings.Repeat("h", 494) + "\n", []string{"a"}},
		{"multi parents spaces", "account a\nhost h\nport 26\naccount b\nhost hb\nfrom b@b\naccount c : a , b\n", []string{"c"}},
		{"quoted account name", "account \"q\"\nhost h\n", []string{"q"}},
		{"account name with space", "account a b\nhost x\n", []string{"a b"}},
		{"defaults later", "account a\nhost h\ndefaults\nport 99\naccount b\nhost h\n", []string{"a", "b"}},
		// tls_crl_file is read when a message is sent (msmtp too): a file
		// that is missing or holds no CRL fails then, not here.
		{"crl file", "account a\nhost h\ntls_crl_file " + crl + "\n", []string{"a"}},
		{"missing crl file", "account a\nhost h\ntls_crl_file /nonexistent/crl.pem\n", []string{"a"}},
		{"crl file in defaults", "defaults\ntls_crl_file " + crl + "\naccount a\nhost h\naccount b : a\nhost h\n", []string{"a", "b"}},
		{"crl file tilde", "account a\nhost h\ntls_crl_file ~/crl.pem\n", []string{"a"}},
		// auto_from on is honoured in sendmail mode, where %U is known
		// (TestMsmtpHeaderKeys compares it with msmtp there).
		// Accepted by msmtp, refused by tlsmail on purpose.
		{"priorities", "account a\nhost h\ntls on\ntls_trust_file system\ntls_priorities NORMAL:-VERS-TLS1.0\n", []string{"a"}},
		{"dh bits", "account a\nhost h\ntls_min_dh_prime_bits 512\n", []string{"a"}},
		{"sslv3", "account a\nhost h\ntls_force_sslv3\n", []string{"a"}},
		{"source ip", "account a\nhost h\nsource_ip 127.0.0.1\n", []string{"a"}},
		{"auth gssapi", "account a\nhost h\nauth gssapi\nuser u\npasswordeval echo x\n", []string{"a"}},
		{"auth scram-sha-1", "account a\nhost h\nauth scram-sha-1\nuser u\npasswordeval echo x\n", []string{"a"}},
		// Rejected by both.
		{"unknown", "account a\nhost h\nfoo bar\n", []string{"a"}},
		{"upper case", "account a\nHOST h\n", []string{"a"}},
		{"host no arg", "account a\nhost\n", []string{"a"}},
		{"bad port", "account a\nhost h\nport 70000\n", []string{"a"}},
		{"port garbage", "account a\nhost h\nport 25x\n", []string{"a"}},
		{"port 08", "account a\nhost h\nport 08\n", []string{"a"}},
		{"timeout 0", "account a\nhost h\ntimeout 0\n", []string{"a"}},
		{"ON", "account a\nhost h\ntls ON\n", []string{"a"}},
		{"bad auth", "account a\nhost h\nauth bogus\n", []string{"a"}},
		{"bad fingerprint", "account a\nhost h\ntls_fingerprint 0011\n", []string{"a"}},
		{"defaults arg", "defaults x\naccount a\nhost h\n", []string{"a"}},
		{"duplicate", "account a\nhost h\naccount a\nhost h\n", []string{"a"}},
		{"undefined parent", "account c : zz\nhost h\n", []string{"c"}},
		{"empty parent", "account a\nhost h\naccount c : a,\n", []string{"c"}},
		{"comma name", "account a,b\nhost h\n", []string{"a,b"}},
		{"too long", "account a\nhost " + strings.Repeat("h", 495) + "\n", []string{"a"}},
		{"too long crlf", "account a\nhost " + strings.Repeat("h", 494) + "\r\n", []string{"a"}},
		{"nocertcheck arg", "account a\nhost h\ntls_nocertcheck off\n", []string{"a"}},
		{"allow_from_override empty", "account a\nhost h\nallow_from_override\n", []string{"a"}},
		{"dsn spaces", "account a\nhost h\ndsn_notify failure, delay\n", []string{"a"}},
		{"no host", "account a\nport 25\n", []string{"a"}},
		{"key without cert", "account a\nhost h\ntls_key_file /k\n", []string{"a"}},
		{"tls trusts nothing", "account a\nhost h\ntls\ntls_trust_file\n", []string{"a"}},
		{"no default", "account a\nhost h\n", []string{""}},
	}
	// The command tlsmail refuses and msmtp accepts, by case.
	refused := map[string]string{
		"priorities":       "tls_priorities",
		"dh bits":          "tls_min_dh_prime_bits",
		"sslv3":            "tls_force_sslv3",
		"source ip":        "source_ip",
		"auth gssapi":      "auth",
		"auth scram-sha-1": "auth",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, "rc")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			f, perr := Load(context.Background(), path, Options{Home: home})
			for _, acct := range tc.accounts {
				want, merr := msmtpPretend(t, msmtp, home, path, acct)
				var a *Account
				err := perr
				if err == nil {
					a, err = f.Select(acct, "")
				}
				if err == nil {
					err = a.Check()
				}
				if key := refused[tc.name]; key != "" {
					var ce *Error
					switch {
					case merr != nil:
						t.Errorf("account %q: msmtp rejects the file (%v): the case expects it to accept it", acct, merr)
					case !errors.As(err, &ce) || ce.Key != key || ce.Line == 0 || ce.Fix == "":
						t.Errorf("account %q: tlsmail's error %v, want an *Error naming %s, its line and a fix", acct, err, key)
					}
					continue
				}
				switch {
				case merr != nil && err != nil:
					var ce *Error
					if !errors.As(err, &ce) {
						t.Errorf("account %q: error is %T, not *Error", acct, err)
					}
					continue
				case merr != nil:
					t.Errorf("account %q: msmtp rejects the file (%v), tlsmail accepts it", acct, merr)
					continue
				case err != nil:
					t.Errorf("account %q: tlsmail rejects the file (%v), msmtp accepts it", acct, err)
					continue
				}
				for k, got := range pretendView(a) {
					if w, ok := want[k]; !ok {
						t.Errorf("msmtp printed no %s", k)
					} else if w != got && !(k == "from" && w == "" && got == "(not set)") {
						t.Errorf("account %q: %s: msmtp %q, tlsmail %q", acct, k, w, got)
					}
				}
			}
		})
	}
}
