package submit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// startServer runs the embedded server on loopback for the examples, with
// the user ann (password in $EXAMPLE_SMTP_PASSWORD).
func startServer(dir string) *server.Server {
	srv, err := server.Start(context.Background(), server.Config{
		SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: filepath.Join(dir, "server"),
		Users: map[string]string{"ann": "example-password"},
	})
	if err != nil {
		log.Fatal(err)
	}
	os.Setenv("EXAMPLE_SMTP_PASSWORD", "example-password")
	return srv
}

// port is the embedded server's STARTTLS port.
func port(srv *server.Server) int {
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	n, _ := strconv.Atoi(p)
	return n
}

// Send one message through an account of an msmtp-format file (an
// existing ~/.msmtprc works): its password is read when the connection is
// made, here from the passwordeval command (a real account would run
// something like "pass show mail").
func Example_msmtpAccount() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()
	rc := filepath.Join(dir, "msmtprc")
	os.WriteFile(rc, []byte(fmt.Sprintf("account work\nhost 127.0.0.1\nport %s\ntls on\ntls_starttls on\n"+
		"tls_trust_file %s\ntls_host_override localhost\nauth on\nuser ann\npasswordeval echo example-password\n",
		strings.TrimPrefix(srv.SMTPAddr(), "127.0.0.1:"), srv.CAFile())), 0o600)

	// The ten lines: read the file, pick the account, send.
	f, err := config.Load(context.Background(), rc, config.Options{})
	if err != nil {
		log.Fatal(err)
	}
	acct, err := f.Account("work")
	if err != nil {
		log.Fatal(err)
	}
	a, err := submit.FromConfig(rc, acct)
	if err != nil {
		log.Fatal(err)
	}
	res, err := (&submit.Connector{}).Send(context.Background(), &a,
		smtp.Envelope{From: "ann@example.org", To: []string{"bob@example.net"}},
		strings.NewReader("From: ann@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello Bob.\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accepted:", res.Accepted)
	// Output:
	// accepted: [bob@example.net]
}

// A program that must not lose mail queues it durably (in its web handler,
// say) and delivers it from a Worker in the same process: Enqueue wakes
// the Worker at once; failures wait in the outbox for the next attempt.
func Example_worker() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()

	q, err := outbox.Open(filepath.Join(dir, "outbox"), outbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	delivered := make(chan string, 1)
	w := &submit.Worker{Queue: q, Interval: time.Minute, OnResult: func(it *outbox.Item, r outbox.Result, _ *submit.Sent) {
		delivered <- fmt.Sprint(it.Envelope.To, " ", r.Outcome)
	}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	// The password is not stored: the Account says where to read it.
	a := &submit.Account{Host: "127.0.0.1", Port: port(srv), Mode: smtp.StartTLS,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"},
		Auth:  submit.Auth{Mechanism: "AUTO", User: "ann", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "EXAMPLE_SMTP_PASSWORD"}}}
	_, err = w.Enqueue(context.Background(), a, outbox.Envelope{From: "ann@example.org", To: []string{"bob@example.net"}},
		strings.NewReader("Subject: order 42\r\n\r\nThank you.\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-delivered)
	stop()
	fmt.Println("worker stopped:", <-done)
	// Output:
	// [bob@example.net] delivered
	// worker stopped: <nil>
}

// A web handler that must answer at once queues the message durably and
// tries it now (DeliverNow): the answer says whether it went out or waits
// in the outbox, where a Worker or 'tlsmail queue run' retries it. After
// a delivery, the account's earlier leftovers may follow (DeliverBacklog).
func Example_deliverNow() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()
	q, err := outbox.Open(filepath.Join(dir, "outbox"), outbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	a := &submit.Account{Host: "127.0.0.1", Port: port(srv), Mode: smtp.StartTLS,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"},
		Auth:  submit.Auth{Mechanism: "AUTO", User: "ann", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "EXAMPLE_SMTP_PASSWORD"}}}

	ctx := context.Background()
	id, err := submit.Enqueue(ctx, q, a, outbox.Envelope{From: "ann@example.org", To: []string{"bob@example.net"}},
		strings.NewReader("Subject: order 43\r\n\r\nThank you.\r\n"))
	if err != nil {
		log.Fatal(err) // not queued: tell the user
	}
	d := &submit.Deliverer{Requeue: q}
	now, err := d.DeliverNow(ctx, q, id)
	if err != nil {
		log.Fatal(err)
	}
	switch now.Result.Outcome {
	case outbox.Delivered:
		fmt.Println("sent:", now.Sent.Result.Response.Code)
		d.DeliverBacklog(ctx, q, now, submit.Backlog{Items: 20, Time: 10 * time.Second})
	case outbox.Temporary:
		fmt.Println("deferred:", now.Result.Err, "- retried from", now.Next)
	case outbox.Permanent:
		fmt.Println("refused, moved to failed:", now.Result.Err)
	case outbox.Corrupt:
		fmt.Println("damaged, moved to corrupt:", now.Result.Err)
	default: // Outcome 0: not attempted (another runner holds it, or ctx ended)
		fmt.Println("not tried now; still queued for a later run")
	}
	// Output:
	// sent: 250
}

// A certificate the client does not trust is a *trust.Error: its report
// lists every problem found in the chain, each with what to do.
func Example_certificateError() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()

	// No CA file: the system's roots do not know the server's throwaway CA.
	a := &submit.Account{Host: "127.0.0.1", Port: port(srv), Mode: smtp.StartTLS,
		Trust: submit.Trust{ServerName: "localhost"}, Timeout: 10 * time.Second}
	_, err := (&submit.Connector{}).Send(context.Background(), a,
		smtp.Envelope{From: "ann@example.org", To: []string{"bob@example.net"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	var te *trust.Error
	if errors.As(err, &te) {
		for _, p := range te.Report.Errors() {
			fmt.Println(p.Kind)
		}
	}
	fmt.Println("retry later?", submit.Classify(err).Outcome == outbox.Temporary)
	// Output:
	// untrusted-root
	// retry later? true
}

// Connector.Providers offers the TLS implementations an Account's Provider
// names: crypto/tls ("go") everywhere, and on Windows Schannel
// (secchan/schannel) as well.
func Example_provider() {
	providers := &secchan.Registry{}
	providers.Register(gotls.Provider{})
	c := &submit.Connector{Providers: providers}

	a := &submit.Account{Host: "smtp.example.org", Port: 465, Provider: "go"}
	cfg, err := c.Config(context.Background(), a)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Provider.Name(), cfg.Mode)

	a.Provider = "openssl"
	_, err = c.Config(context.Background(), a)
	var se *submit.Error
	if errors.As(err, &se) {
		fmt.Println(se.Field+":", se.Msg)
	}
	// Output:
	// go implicit
	// provider: unknown TLS provider "openssl"
}

// The session log (transcript) records every command and reply with its
// byte count; the AUTH exchange is redacted, so the password never
// appears.
func Example_transcript() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()

	a := &submit.Account{Host: "127.0.0.1", Port: port(srv), Mode: smtp.StartTLS,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"},
		Auth:  submit.Auth{Mechanism: "PLAIN", User: "ann", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "EXAMPLE_SMTP_PASSWORD"}}}
	cfg, err := (&submit.Connector{}).Config(context.Background(), a)
	if err != nil {
		log.Fatal(err)
	}
	var log bytes.Buffer
	cfg.Transcript = transcript.New(&log)
	c, err := smtp.Dial(context.Background(), a.Addr(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Quit(context.Background())
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(line, "C: ") { // what the client sent
			fmt.Println(line)
		}
	}
	fmt.Println("password in the log:", strings.Contains(log.String(), "example-password"))
	// Output:
	// C: 16 bytes: EHLO localhost
	// C: 10 bytes: STARTTLS
	// C: 16 bytes: EHLO localhost
	// C: 41 bytes: AUTH PLAIN [redacted]
	// C: 6 bytes: QUIT
	// password in the log: false
}

// SendMessage derives the SMTP envelope from a composed (or prepared)
// message: MAIL FROM from its From, RCPT TO from To, Cc and Bcc, and the
// Bcc field never written into the content.
func ExampleConnector_SendMessage() {
	dir, _ := os.MkdirTemp("", "submit-example")
	defer os.RemoveAll(dir)
	srv := startServer(dir)
	defer srv.Close()

	m, err := message.Compose(message.Spec{From: "Ann <ann@example.org>", To: []string{"bob@example.net"},
		Bcc: []string{"archive@example.org"}, Subject: "minutes", Text: "Attached soon.\n"})
	if err != nil {
		log.Fatal(err)
	}
	a := &submit.Account{Host: "127.0.0.1", Port: port(srv), Mode: smtp.StartTLS,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"},
		Auth:  submit.Auth{Mechanism: "AUTO", User: "ann", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "EXAMPLE_SMTP_PASSWORD"}}}
	res, err := (&submit.Connector{}).SendMessage(context.Background(), a, m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accepted:", res.Accepted)
	got, _ := srv.Wait(context.Background(), 1)
	data, _ := got[0].Data()
	fmt.Println("Bcc in the content:", strings.Contains(string(data), "archive@"))
	// Output:
	// accepted: [bob@example.net archive@example.org]
	// Bcc in the content: false
}
