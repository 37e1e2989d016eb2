package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestSendModes sends over STARTTLS and over implicit TLS with --ca and
// AUTH, and checks what the server received and how.
func TestSendModes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	tests := []struct {
		name     string
		addr     string
		extra    []string
		starttls bool
	}{
		{"starttls by default", srv.SMTPAddr(), nil, true},
		{"implicit", srv.SMTPSAddr(), []string{"--tls", "implicit"}, false},
		{"starttls with tls-name localhost", srv.SMTPAddr(), []string{"--tls-name", "localhost", "--tls", "starttls"}, true},
	}
	for i, tc := range tests {
		subject := "mode test " + tc.name
		args := baseSend(tc.addr, srv.CAFile(), append(tc.extra, "--subject", subject)...)
		r := cli{args: args, env: authEnv()}.run(t)
		if r.code != 0 {
			t.Fatalf("%s: %s", tc.name, r)
		}
		if !strings.Contains(r.stdout, "sent:     250") || !strings.Contains(r.stdout, "certificate verified") {
			t.Errorf("%s: the summary lacks the result or the verdict:\n%s", tc.name, r)
		}
		ms := waitMessages(t, srv, i+1)
		m := ms[i]
		data, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("Subject: "+subject+"\r\n")) {
			t.Errorf("%s: stored message lacks the subject:\n%s", tc.name, data)
		}
		if m.AuthUser != testUser {
			t.Errorf("%s: AuthUser = %q, want %q", tc.name, m.AuthUser, testUser)
		}
		if m.TLS == nil || m.TLS.STARTTLS != tc.starttls {
			t.Errorf("%s: TLS = %+v, want STARTTLS %v", tc.name, m.TLS, tc.starttls)
		}
	}
}

// TestSendPreparedMessageByteExact sends a --message file (and stdin) and
// checks that the server stored exactly its bytes, lines starting with a
// dot included (dot-stuffing must be undone by the server).
func TestSendPreparedMessageByteExact(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	msg := []byte("From: Ann <ann@example.com>\r\n" +
		"To: Bob <bob@example.org>\r\n" +
		"Subject: prepared\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <prepared-1@example.com>\r\n" +
		"\r\n" +
		"line one\r\n" +
		".a line starting with a dot\r\n" +
		"..two dots\r\n" +
		".\r\n" +
		"\xc3\xa9t\xc3\xa9 8-bit text\r\n" +
		"last line without dot\r\n")
	path := writeFile(t, "msg.eml", msg, 0o644)

	for i, tc := range []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"file, recipients from the header", []string{"--message", path}, nil},
		{"stdin, recipient on the command line", []string{"--message", "-", "--to", "carol@example.net"}, msg},
	} {
		args := []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(),
			"--user", testUser, "--password-env", passwordVar}
		args = append(args, tc.args...)
		c := cli{args: args, env: authEnv()}
		if tc.stdin != nil {
			c.stdin = bytes.NewReader(tc.stdin)
		}
		if r := c.run(t); r.code != 0 {
			t.Fatalf("%s: %s", tc.name, r)
		}
		m := waitMessages(t, srv, i+1)[i]
		got, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%s: delivered bytes differ\n got: %q\nwant: %q", tc.name, got, msg)
		}
		if i == 0 && (len(m.To) != 1 || m.To[0] != "bob@example.org") {
			t.Errorf("%s: recipients = %q, want bob@example.org from the To field", tc.name, m.To)
		}
		if i == 1 && (len(m.To) != 1 || m.To[0] != "carol@example.net") {
			t.Errorf("%s: recipients = %q, want only carol@example.net", tc.name, m.To)
		}
	}
}

// TestSendJSONShape checks the --json object on success: one object, the
// fields the issue names, with their types.
func TestSendJSONShape(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		}
	})
	r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--json", "--to", "nobody@example.org"), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("a partial rejection should still send: %s", r)
	}
	j := decodeJSON(t, r)
	if j["ok"] != true {
		t.Errorf("ok = %v", j["ok"])
	}
	tlsObj, ok := j["tls"].(map[string]any)
	if !ok {
		t.Fatalf("tls is %T, want an object: %s", j["tls"], r.stdout)
	}
	if v, _ := tlsObj["version"].(string); !strings.HasPrefix(v, "TLS 1.") {
		t.Errorf("tls.version = %v", tlsObj["version"])
	}
	if c, _ := tlsObj["cipher"].(string); !strings.HasPrefix(c, "TLS_") {
		t.Errorf("tls.cipher = %v", tlsObj["cipher"])
	}
	if tlsObj["verified"] != true {
		t.Errorf("tls.verified = %v", tlsObj["verified"])
	}
	if acc, _ := j["accepted"].([]any); len(acc) != 1 || acc[0] != "bob@example.org" {
		t.Errorf("accepted = %v", j["accepted"])
	}
	rej, _ := j["rejected"].([]any)
	if len(rej) != 1 {
		t.Fatalf("rejected = %v", j["rejected"])
	}
	if r0 := rej[0].(map[string]any); r0["address"] != "nobody@example.org" || r0["code"] != float64(550) {
		t.Errorf("rejected[0] = %v", r0)
	}
	if resp, _ := j["response"].(string); !strings.HasPrefix(resp, "250 ") {
		t.Errorf("response = %v", j["response"])
	}
	if _, has := j["error"]; has {
		t.Errorf("error present on success: %v", j["error"])
	}
	if r.stderr != "" {
		t.Errorf("stderr should be empty with --json and no --transcript: %q", r.stderr)
	}
}

// TestPasswordNeverShown sends with each mechanism the server offers and
// looks for the password, and its base64 forms, in everything tlsmail
// wrote: the transcript on stderr, a transcript file, stdout.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) { c.Debug = nil })
	for _, mech := range []string{"PLAIN", "LOGIN", "auto"} {
		tfile := filepath.Join(t.TempDir(), "transcript.txt")
		r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--auth", mech, "--transcript", "-", "--json"), env: authEnv()}.run(t)
		if r.code != 0 {
			t.Fatalf("%s: %s", mech, r)
		}
		r2 := cli{args: baseSend(srv.SMTPSAddr(), srv.CAFile(), "--tls", "implicit", "--auth", mech, "--transcript", tfile), env: authEnv()}.run(t)
		if r2.code != 0 {
			t.Fatalf("%s: %s", mech, r2)
		}
		tdata, err := os.ReadFile(tfile)
		if err != nil {
			t.Fatal(err)
		}
		all := r.stdout + r.stderr + r2.stdout + r2.stderr + string(tdata)
		if !strings.Contains(r.stderr, "[redacted]") || !strings.Contains(string(tdata), "[redacted]") {
			t.Errorf("%s: transcript shows no redacted AUTH line:\n%s", mech, all)
		}
		for _, secret := range []string{
			testPassword,
			base64.StdEncoding.EncodeToString([]byte(testPassword)),
			base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword)),
		} {
			if strings.Contains(all, secret) {
				t.Errorf("%s: the password (%q) appears in the output:\n%s", mech, secret, all)
			}
		}
	}
}

// TestInsecureWarnsAndReports sends without --ca (the throwaway root is
// not trusted) but with --insecure: it works, warns loudly, and still shows
// the verification report.
func TestInsecureWarnsAndReports(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) { c.Users = nil })
	args := []string{"send", "--server", srv.SMTPAddr(), "--insecure",
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "x", "--body", "y"}

	r := runTLSMail(t, args...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if !strings.Contains(r.stderr, "WARNING: --insecure") {
		t.Errorf("no warning on stderr:\n%s", r)
	}
	if !strings.Contains(r.stdout, "NOT verified") || !strings.Contains(r.stdout, "untrusted-root") {
		t.Errorf("the report is not shown:\n%s", r)
	}

	r = runTLSMail(t, append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	j := decodeJSON(t, r)
	tlsObj := j["tls"].(map[string]any)
	if tlsObj["verified"] != false {
		t.Errorf("tls.verified = %v, want false", tlsObj["verified"])
	}
	probs, _ := tlsObj["problems"].([]any)
	if len(probs) == 0 {
		t.Fatalf("tls.problems is empty: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, "WARNING: --insecure") {
		t.Errorf("no warning on stderr with --json:\n%s", r)
	}
	waitMessages(t, srv, 2)
}

// TestFlagsAfterArguments: recipients may be given as arguments, before
// or between flags.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r := cli{args: []string{"send", "carol@example.net", "--server", srv.SMTPSAddr(), "--tls", "implicit",
		"--ca", srv.CAFile(), "dave@example.net", "--user", testUser, "--password-env", passwordVar,
		"--from", "ann@example.com", "--subject", "args", "--body", "b"}, env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	m := waitMessages(t, srv, 1)[0]
	if strings.Join(m.To, ",") != "carol@example.net,dave@example.net" {
		t.Errorf("recipients = %q", m.To)
	}
}

// TestBccNotWritten: a --bcc recipient gets the message, but is not in it.
func TestBccNotWritten(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--bcc", "secret@example.net",
		"--header", "X-Ticket: 42", "--attach", writeFile(t, "a.txt", []byte("attached\n"), 0o644)), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	m := waitMessages(t, srv, 1)[0]
	data, _ := m.Data()
	if strings.Join(m.To, ",") != "bob@example.org,secret@example.net" {
		t.Errorf("recipients = %q", m.To)
	}
	if bytes.Contains(data, []byte("secret@example.net")) {
		t.Errorf("the Bcc address is in the message:\n%s", data)
	}
	if !bytes.Contains(data, []byte("X-Ticket: 42\r\n")) || !bytes.Contains(data, []byte("a.txt")) {
		t.Errorf("header or attachment missing:\n%s", data)
	}
}

// TestPasswordSources: a private file, a command, and the refusals.
func TestPasswordSources(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	good := writeFile(t, "pw", []byte(testPassword+"\nsecond line ignored\n"), 0o600)
	open := writeFile(t, "pw-open", []byte(testPassword+"\n"), 0o644)
	common := []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(), "--user", testUser,
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "pw", "--body", "b"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"file", []string{"--password-file", good}, 0, ""},
		{"command", []string{"--password-cmd", "printf '%s\\n' " + testPassword}, 0, ""},
		{"world-readable file refused", []string{"--password-file", open}, exitConfig, "chmod 600"},
		{"missing file", []string{"--password-file", good + ".missing"}, exitConfig, "password file"},
		{"failing command", []string{"--password-cmd", "exit 3"}, exitConfig, "--password-cmd"},
		{"wrong password", []string{"--password-cmd", "echo wrong"}, exitNoPerm, "535"},
		{"two sources", []string{"--password-file", good, "--password-cmd", "true"}, exitUsage, "one of"},
		{"no source", nil, exitUsage, "--password-env"},
		{"password flag does not exist", []string{"--password", testPassword}, exitUsage, "unknown flag"},
	}
	for _, tc := range tests {
		r := runTLSMail(t, append(append([]string{}, common...), tc.args...)...)
		if r.code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.wantCode, r)
			continue
		}
		if tc.wantErr != "" && !strings.Contains(r.stderr, tc.wantErr) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.name, tc.wantErr, r)
		}
		if strings.Contains(r.stdout+r.stderr, testPassword) && tc.name != "password flag does not exist" {
			t.Errorf("%s: the password is in the output:\n%s", tc.name, r)
		}
	}
}
