package smtp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Send one message over STARTTLS with AUTH, verifying the server against a
// private CA. The embedded server stands in for a real one.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Users: map[string]string{"alice": "s3cret"}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := smtp.Dial(ctx, srv.SMTPAddr(), &smtp.Config{
		Mode: smtp.StartTLS,
		TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
		Auth: &smtp.Auth{Username: "alice", Password: os.Getenv("NO_SUCH_VAR") + "s3cret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	msg := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hello\r\n\r\nHi Bob.\r\n"
	res, err := c.Send(ctx, smtp.Envelope{From: "alice@example.org", To: []string{"bob@example.org"}}, strings.NewReader(msg))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		log.Fatal(err)
	}
	st, _ := c.TLS()
	fmt.Println("accepted:", res.Accepted, "code:", res.Response.Code, "verified:", st.Verified)
	// Output: accepted: [bob@example.org] code: 250 verified: true
}

// Send several messages over one session with SendAll: under PIPELINING
// the end of each message travels with the next envelope, and each
// message's outcome is reported on its own.
func ExampleClient_SendAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Users: map[string]string{"alice": "s3cret"},
		RejectRecipient: func(to string) *server.Reply {
			if to == "nobody@example.org" {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := smtp.Dial(ctx, srv.SMTPAddr(), &smtp.Config{
		Mode: smtp.StartTLS,
		TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
		Auth: &smtp.Auth{Username: "alice", Password: os.Getenv("NO_SUCH_VAR") + "s3cret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	rcpts := []string{"bob@example.org", "nobody@example.org", "carol@example.org"}
	i := 0
	next := func() (smtp.Envelope, io.Reader, error) {
		if i == len(rcpts) {
			return smtp.Envelope{}, nil, io.EOF
		}
		to := rcpts[i]
		i++
		msg := "From: alice@example.org\r\nTo: " + to + "\r\nSubject: hello\r\n\r\nHi.\r\n"
		return smtp.Envelope{From: "alice@example.org", To: []string{to}}, strings.NewReader(msg), nil
	}
	done := func(i int, res *smtp.Result, err error) {
		if err != nil {
			fmt.Println(rcpts[i], "refused:", res.Rejected[0].Reply.Code)
			return
		}
		fmt.Println(rcpts[i], "accepted:", res.Response.Code)
	}
	if err := c.SendAll(ctx, next, done); err != nil {
		log.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// bob@example.org accepted: 250
	// nobody@example.org refused: 550
	// carol@example.org accepted: 250
}

// Authenticate with an OAuth 2.0 access token (OAUTHBEARER, RFC 7628) and
// ask for delivery status notifications (DSN, RFC 3461): a notice on
// failure or delay, with the message's header only.
func ExampleDSN() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", DSN: true,
		Tokens: map[string]string{"alice@example.org": "ya29.token"}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := smtp.Dial(ctx, srv.SMTPAddr(), &smtp.Config{
		Mode: smtp.StartTLS,
		TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
		// The token comes from the program's OAuth 2.0 client.
		Auth: &smtp.Auth{Mechanism: "OAUTHBEARER", Username: "alice@example.org", Password: "ya29.token"},
	})
	if err != nil {
		log.Fatal(err)
	}
	env := smtp.Envelope{From: "alice@example.org", To: []string{"bob@example.org"},
		DSN: smtp.DSN{Notify: "FAILURE,DELAY", Return: "HDRS"}}
	msg := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hello\r\n\r\nHi Bob.\r\n"
	if _, err := c.SendAndQuit(ctx, env, strings.NewReader(msg)); err != nil {
		log.Fatal(err)
	}
	got, err := srv.Wait(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("auth:", c.AuthMechanism(), "RET:", got[0].DSNReturn, "NOTIFY:", got[0].Notify)
	// Output: auth: OAUTHBEARER RET: HDRS NOTIFY: [FAILURE,DELAY]
}
