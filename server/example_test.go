package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/server"
)

// Start a server with a throwaway PKI, send a message over STARTTLS with
// AUTH PLAIN using Go's net/smtp, and read back what was stored.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	srv, err := server.Start(context.Background(), server.Config{
		SMTPAddr: "127.0.0.1:0", // port 0: the system picks one; see SMTPAddr()
		Dir:      dir,
		Users:    map[string]string{"alice": "s3cret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := smtp.Dial(srv.SMTPAddr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// Clients verify the server against ca.pem (CAFile) or CAPool.
	if err := c.StartTLS(&tls.Config{RootCAs: srv.CAPool(), ServerName: "localhost"}); err != nil {
		log.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "alice", "s3cret", "127.0.0.1")); err != nil {
		log.Fatal(err)
	}
	msg := "Subject: hello\r\n\r\n.a line starting with a dot\r\n"
	if err := c.Mail("alice@example.com"); err != nil {
		log.Fatal(err)
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		log.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		log.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	c.Quit()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	m := msgs[0]
	data, _ := m.Data()
	fmt.Printf("from %s to %v, user %s, STARTTLS %v\n", m.From, m.To, m.AuthUser, m.TLS.STARTTLS)
	fmt.Printf("%q\n", data)
	// Output:
	// from alice@example.com to [bob@example.com], user alice, STARTTLS true
	// "Subject: hello\r\n\r\n.a line starting with a dot\r\n"
}

// Make some recipients fail, as a real server would, to test how a client
// reports partial delivery.
func ExampleConfig_rejectRecipient() {
	srv, err := server.Start(context.Background(), server.Config{
		SMTPSAddr: "127.0.0.1:0",
		RejectRecipient: func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user"}
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := tls.Dial("tcp", srv.SMTPSAddr(), &tls.Config{RootCAs: srv.CAPool(), ServerName: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	cl, err := smtp.NewClient(c, "localhost")
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	cl.Mail("alice@example.com")
	fmt.Println(cl.Rcpt("bob@example.com"))
	fmt.Println(cl.Rcpt("nobody@example.com"))
	// Output:
	// <nil>
	// 550 "5.1.1 No such user"
}
