package server_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeliver measures one message (MAIL, RCPT, DATA of a 4 KiB body,
// stored to disk) over one implicit-TLS connection.
func BenchmarkDeliver(b *testing.B) {
	s := start(b, nil)
	body := strings.Repeat(strings.Repeat("x", 62)+"\r\n", 64) + ".\r\n"
	r := dialTLS(b, s, &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	r.ehlo()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		r.conn.SetDeadline(time.Now().Add(ioDeadline))
		r.cmd(250, "MAIL FROM:<a@example.com>")
		r.cmd(250, "RCPT TO:<b@example.com>")
		r.cmd(354, "DATA")
		if _, err := r.conn.Write([]byte(body)); err != nil {
			b.Fatal(err)
		}
		r.expect(250)
	}
}
