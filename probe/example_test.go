package probe_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tlsmail/tlsmail/probe"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Probing a server's implicit-TLS port (here the embedded server, with a
// throwaway CA of its own): what it offers, the session it agrees to, and
// whether its chain is trusted, without sending any mail.
func Example() {
	dir, err := os.MkdirTemp("", "probe-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := server.Start(context.Background(), server.Config{SMTPSAddr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	r, err := probe.Run(context.Background(), &probe.Config{
		Addr:    srv.SMTPSAddr(),
		Mode:    smtp.Implicit,
		Trust:   trust.Options{Roots: srv.CAPool(), Name: "127.0.0.1"},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Println("probe failed:", err)
		return
	}
	fmt.Println("TLS:", r.TLS.Version)
	fmt.Println("trusted:", r.Trust.OK())
	for _, p := range r.Trust.Problems {
		fmt.Println("problem:", p.Summary, "- fix:", p.Fix)
	}
	// Output:
	// TLS: TLS 1.3
	// trusted: true
}
