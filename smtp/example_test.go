package smtp_test

import (
	"context"
	"fmt"
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
