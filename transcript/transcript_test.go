package transcript

import (
	"bytes"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	var b bytes.Buffer
	l := New(&b)
	l.Client([]byte("EHLO localhost\r\n"))
	l.Server([]byte("250-mx \x1b[31mred\r\n"))
	l.ClientSecret([]byte("AUTH PLAIN AHUAcA==\r\n"), "AUTH PLAIN")
	l.ClientSecret([]byte("cGFzc3dvcmQ=\r\n"), "")
	l.ClientData(1234, "[message data]")
	l.Event("TLS handshake done: %s", "TLS 1.3")
	want := []string{
		"C: 16 bytes: EHLO localhost",
		`S: 17 bytes: 250-mx \x1b[31mred`,
		"C: 21 bytes: AUTH PLAIN [redacted]",
		"C: 14 bytes: [redacted]",
		"C: 1234 bytes: [message data]",
		"*  TLS handshake done: TLS 1.3",
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(b.String(), "AHUAcA") || strings.Contains(b.String(), "cGFzc3dvcmQ") {
		t.Error("secret reached the transcript")
	}
}

func TestNilLogIsSilent(t *testing.T) {
	var l *Log
	l.Client([]byte("x\r\n"))
	l.Server([]byte("x\r\n"))
	l.ClientSecret([]byte("x"), "AUTH")
	l.ClientData(1, "x")
	l.Event("x")
	if l.Err() != nil {
		t.Error(l.Err())
	}
}

func BenchmarkClientSecret(b *testing.B) {
	var buf bytes.Buffer
	l := New(&buf)
	line := []byte("AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		l.ClientSecret(line, "AUTH PLAIN")
	}
}

// Events carry text from the peer too (certificate subjects and names in
// a failed verification, errors): a hostile server must not be able to
// write terminal escapes or forge "S:" lines through them.
func TestEventEscapesPeerText(t *testing.T) {
	var b bytes.Buffer
	l := New(&b)
	l.Event("certificate 0: %s", "CN=evil\x1b[2J\r\nS: 250 fake")
	want := `*  certificate 0: CN=evil\x1b[2J\x0d\x0aS: 250 fake` + "\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
