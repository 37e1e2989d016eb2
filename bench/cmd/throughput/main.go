// Command throughput sends N small messages over one SMTP connection
// (STARTTLS, RFC 3207; AUTH PLAIN, RFC 4616; certificate verified against
// -ca) with one of three client libraries, and prints the rate:
//
//	tlsmail   tlsmail's smtp package: SendAll (each message's end of data
//	          in the same flight as the next envelope, RFC 2920 section 3.1)
//	gomail    github.com/wneessen/go-mail: one Client, DialAndSend(all)
//	netsmtp   Go's net/smtp: Mail, Rcpt, Data, Reset per message
//
// Each message is prepared before the clock starts where the library
// allows it (go-mail renders its Msg while sending, which is part of what
// it costs). The clock covers dial, handshake, AUTH, every message and
// QUIT. The output is one line: "LIB N SECONDS MSGS_PER_S".
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	netsmtp "net/smtp"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
)

type opts struct {
	addr, ca, user, pass string
	n                    int
	from, to             string
}

func main() {
	var o opts
	lib := flag.String("lib", "tlsmail", "tlsmail, gomail or netsmtp")
	flag.StringVar(&o.addr, "addr", "", "server HOST:PORT (STARTTLS)")
	flag.StringVar(&o.ca, "ca", "", "PEM file of the CA to trust")
	flag.StringVar(&o.user, "user", "bench", "AUTH user")
	passFile := flag.String("password-file", "", "file holding the password")
	flag.IntVar(&o.n, "n", 1000, "messages to send")
	flag.StringVar(&o.from, "from", "bench@example.com", "sender")
	flag.StringVar(&o.to, "to", "sink@example.com", "recipient")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed part to FILE")
	flag.Parse()
	pw, err := os.ReadFile(*passFile)
	if err != nil {
		fail(err)
	}
	o.pass = strings.TrimRight(string(pw), "\r\n")
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail(fmt.Errorf("no certificate in %s", o.ca))
	}
	run := map[string]func(opts, *x509.CertPool) error{
		"tlsmail": runTLSMail, "gomail": runGoMail, "netsmtp": runNetSMTP,
	}[*lib]
	if run == nil {
		fail(fmt.Errorf("unknown -lib %q", *lib))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
	}
	start := time.Now()
	if err := run(o, pool); err != nil {
		fail(err)
	}
	d := time.Since(start)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("%s %d %.4f %.1f\n", *lib, o.n, d.Seconds(), float64(o.n)/d.Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "throughput:", err)
	os.Exit(1)
}

// body is about 1 KB of text in lines of 64 characters.
func body() string {
	var b strings.Builder
	line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 2)[:62]
	for b.Len() < 900 {
		b.WriteString(line + "\r\n")
	}
	return b.String()
}

func rawMessage(o opts, i int) []byte {
	return []byte(fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: bench %d\r\nDate: %s\r\nMessage-ID: <%d.%d@bench.invalid>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s",
		o.from, o.to, i, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), i, body()))
}

func runTLSMail(o opts, pool *x509.CertPool) error {
	ctx := context.Background()
	host, _, _ := net.SplitHostPort(o.addr)
	msgs := make([][]byte, o.n)
	for i := range msgs {
		msgs[i] = rawMessage(o, i)
	}
	c, err := smtp.Dial(ctx, o.addr, &smtp.Config{
		Mode: smtp.StartTLS,
		TLS:  &secchan.Config{ServerName: host, Trust: trustRoots(pool)},
		Auth: &smtp.Auth{Mechanism: "PLAIN", Username: o.user, Password: o.pass},
	})
	if err != nil {
		return err
	}
	defer c.Close()
	i := 0
	next := func() (smtp.Envelope, io.Reader, error) {
		if i == len(msgs) {
			return smtp.Envelope{}, nil, io.EOF
		}
		m := msgs[i]
		i++
		return smtp.Envelope{From: o.from, To: []string{o.to}, Size: int64(len(m))}, bytes.NewReader(m), nil
	}
	var failed error
	done := func(k int, _ *smtp.Result, err error) {
		if err != nil && failed == nil {
			failed = fmt.Errorf("message %d: %w", k, err)
		}
	}
	if err := c.SendAll(ctx, next, done); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return c.Quit(ctx)
}

func runGoMail(o opts, pool *x509.CertPool) error {
	host, port, _ := net.SplitHostPort(o.addr)
	var p int
	fmt.Sscan(port, &p)
	msgs := make([]*mail.Msg, o.n)
	for i := range msgs {
		m := mail.NewMsg()
		if err := m.From(o.from); err != nil {
			return err
		}
		if err := m.To(o.to); err != nil {
			return err
		}
		m.Subject(fmt.Sprintf("bench %d", i))
		m.SetBodyString(mail.TypeTextPlain, body())
		msgs[i] = m
	}
	c, err := mail.NewClient(host,
		mail.WithPort(p),
		mail.WithTLSPolicy(mail.TLSMandatory),
		mail.WithTLSConfig(&tls.Config{ServerName: host, RootCAs: pool, MinVersion: tls.VersionTLS12}),
		mail.WithSMTPAuth(mail.SMTPAuthPlain),
		mail.WithUsername(o.user), mail.WithPassword(o.pass),
	)
	if err != nil {
		return err
	}
	return c.DialAndSend(msgs...)
}

func runNetSMTP(o opts, pool *x509.CertPool) error {
	host, _, _ := net.SplitHostPort(o.addr)
	msgs := make([][]byte, o.n)
	for i := range msgs {
		msgs[i] = rawMessage(o, i)
	}
	c, err := netsmtp.Dial(o.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: pool}); err != nil {
		return err
	}
	if err := c.Auth(netsmtp.PlainAuth("", o.user, o.pass, host)); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := c.Mail(o.from); err != nil {
			return err
		}
		if err := c.Rcpt(o.to); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(m); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := c.Reset(); err != nil {
			return err
		}
	}
	return c.Quit()
}
