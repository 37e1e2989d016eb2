//go:build !windows && !plan9

package maillog

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyslog sends the line to a unixgram socket standing in for the
// syslog daemon and reads the datagram: facility and priority (RFC 3164
// <PRI>), the tag and the line.
func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skipf("no unix datagram sockets: %v", err)
	}
	defer conn.Close()
	read := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	c := Config{Syslog: "LOG_MAIL", SyslogNetwork: "unixgram", SyslogAddr: sock}
	if err := c.Write(Entry{Host: "h", From: "a@b", Recipients: []string{"c@d"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// LOG_MAIL (2<<3) | LOG_INFO (6) = 22.
	if got := read(); !strings.HasPrefix(got, "<22>") || !strings.Contains(got, "tlsmail[") || !strings.HasSuffix(strings.TrimSpace(got), "host=h tls=off auth=off from=a@b recipients=c@d exitcode=EX_OK") {
		t.Errorf("datagram %q", got)
	}
	c.Syslog = "on"
	if err := c.Write(Entry{Host: "h", ExitCode: 75}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// LOG_USER (1<<3) | LOG_ERR (3) = 11.
	if got := read(); !strings.HasPrefix(got, "<11>") {
		t.Errorf("datagram %q", got)
	}
	c.Syslog = "LOG_BOGUS"
	if err := c.Write(Entry{}, time.Now()); err == nil {
		t.Error("an unknown facility was accepted")
	}
}
