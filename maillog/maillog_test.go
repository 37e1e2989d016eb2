package maillog

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLineMatchesMsmtp: these lines were written by Debian's msmtp 1.8.23
// (time stamp removed) for the same outcomes, against a test server.
func TestLineMatchesMsmtp(t *testing.T) {
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{Host: "127.0.0.1", Auth: true, User: "joe", From: "me@example.com", Recipients: []string{"a@example.com"},
			MailSize: 136, SMTPStatus: 250, SMTPMsg: []string{"250-first line", "250 2.0.0 second 'quoted' line"}},
			`host=127.0.0.1 tls=off auth=on user=joe from=me@example.com recipients=a@example.com mailsize=136 smtpstatus=250 smtpmsg='250-first line\n250 2.0.0 second ?quoted? line' exitcode=EX_OK`},
		{Entry{Host: "127.0.0.1", Auth: true, User: "joe", From: "me@example.com", Recipients: []string{"reject@example.com"},
			SMTPStatus: 550, SMTPMsg: []string{"550 5.1.1 no such user"}, ErrorMsg: "recipient address reject@example.com not accepted by the server", ExitCode: 65},
			`host=127.0.0.1 tls=off auth=on user=joe from=me@example.com recipients=reject@example.com smtpstatus=550 smtpmsg='550 5.1.1 no such user' errormsg='recipient address reject@example.com not accepted by the server' exitcode=EX_DATAERR`},
		{Entry{Host: "127.0.0.1", Auth: true, User: "joe", From: "me@example.com", Recipients: []string{"a@example.com"},
			SMTPStatus: 535, SMTPMsg: []string{"535 5.7.8 bad credentials"}, ErrorMsg: "authentication failed (method PLAIN)", ExitCode: 77},
			`host=127.0.0.1 tls=off auth=on user=joe from=me@example.com recipients=a@example.com smtpstatus=535 smtpmsg='535 5.7.8 bad credentials' errormsg='authentication failed (method PLAIN)' exitcode=EX_NOPERM`},
		{Entry{Host: "127.0.0.1", From: "me@example.com", Recipients: []string{"second@example.com", "Admin@example.com"},
			ErrorMsg: "cannot connect to 127.0.0.1, port 12525: Connection refused", ExitCode: 75},
			`host=127.0.0.1 tls=off auth=off from=me@example.com recipients=second@example.com,Admin@example.com errormsg='cannot connect to 127.0.0.1, port 12525: Connection refused' exitcode=EX_TEMPFAIL`},
		// user= only with auth; a hostile reply cannot add a line.
		{Entry{Host: "h", TLS: true, User: "ignored", From: "a@b", Recipients: []string{"c@d"}, SMTPStatus: 250,
			SMTPMsg: []string{"250 ok\r\nFAKE host=x exitcode=EX_OK"}},
			`host=h tls=on auth=off from=a@b recipients=c@d smtpstatus=250 smtpmsg='250 ok??FAKE host=x exitcode=EX_OK' exitcode=EX_OK`},
		{Entry{Host: "h", From: "a@b", Recipients: []string{"c@d"}, ExitCode: 3}, `host=h tls=off auth=off from=a@b recipients=c@d exitcode=3`},
	}
	for i, tc := range tests {
		if got := tc.e.Line(); got != tc.want {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, tc.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	ts := time.Date(2026, time.December, 6, 9, 4, 5, 0, time.FixedZone("CET", 3600))
	tests := []struct{ format, want string }{
		{"", "Dec 06 09:04:05"},
		{"%F %T", "2026-12-06 09:04:05"},
		{"%Y-%m-%dT%H:%M:%S%z", "2026-12-06T09:04:05+0100"},
		{"%a %A %b %B %e|%j|%I %p|%y %C|%%|%Q|%", "Sun Sunday Dec December  6|340|09 AM|26 20|%|%Q|%"},
		{"%s", "1796544245"},
		{"%u %w %V %G %D %R %k %l %Z", "7 0 49 2026 12/06/26 09:04  9  9 CET"},
	}
	for _, tc := range tests {
		if got := FormatTime(ts, tc.format); got != tc.want {
			t.Errorf("FormatTime(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestWriteFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	now := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)
	c := Config{File: p, TimeFormat: "%F"}
	if !c.Enabled() || (Config{Syslog: "off"}).Enabled() {
		t.Error("Enabled")
	}
	for i := 0; i < 2; i++ {
		if err := c.Write(Entry{Host: "h", From: "a@b", Recipients: []string{"c@d"}}, now); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	line := "2026-01-02 host=h tls=off auth=off from=a@b recipients=c@d exitcode=EX_OK\n"
	if string(data) != line+line {
		t.Errorf("file:\n%s", data)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	var out bytes.Buffer
	if err := (Config{File: "-", Stdout: &out}).Write(Entry{Host: "h", ExitCode: 75}, now); err != nil || !strings.HasPrefix(out.String(), "Jan 02 03:04:05 host=h ") {
		t.Errorf("stdout: %q %v", out.String(), err)
	}
	// The error wraps its cause, so that a program can tell a missing
	// directory from a refused permission, whichever destinations failed.
	missing := filepath.Join(t.TempDir(), "no", "dir", "log")
	for _, c := range []Config{{File: missing}, {File: missing, Syslog: "LOG_BOGUS"}} {
		err := c.Write(Entry{}, now)
		if err == nil || !strings.Contains(err.Error(), "log file") || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%+v: unwritable: %v (want it to wrap fs.ErrNotExist)", c, err)
		}
		if c.Syslog != "" && (err == nil || !strings.Contains(err.Error(), "syslog")) {
			t.Errorf("%+v: the syslog failure is not reported: %v", c, err)
		}
	}
}

// TestLineFieldsCannotBeForged: the unquoted fields (host, user, from,
// recipients) cannot hold a space, so a sender or recipient chosen by a
// local user (-f '"x exitcode=EX_OK"@example.com', a quoted local part
// RFC 5321 allows) cannot add a forged exitcode= or host= field that a
// log reader would take for the real one. A space becomes '?', as control
// characters do.
func TestLineFieldsCannotBeForged(t *testing.T) {
	e := Entry{Host: "h exitcode=EX_OK", Auth: true, User: "u host=evil", From: "x exitcode=EX_OK@example.com",
		Recipients: []string{"b c@example.org", "d@example.org exitcode=EX_OK"}, ErrorMsg: "refused", ExitCode: 65}
	line := e.Line()
	for _, key := range []string{"host", "user", "from", "recipients", "exitcode"} {
		if n := strings.Count(" "+line, " "+key+"="); n != 1 {
			t.Errorf("%d fields %s= in %s", n, key, line)
		}
	}
	if !strings.Contains(line, " from=x?exitcode=EX_OK@example.com ") || !strings.HasSuffix(line, " exitcode=EX_DATAERR") {
		t.Errorf("line %s", line)
	}
}
