package smtp

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/trust"
)

// Against the embedded go-smtp server: both TLS modes, AUTH, a message
// stored byte for byte, recipients refused one by one.
func TestEmbeddedServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{
		SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: t.TempDir(),
		Users: map[string]string{"u": "pw"},
		RejectRecipient: func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	body := "From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\n.line with a dot\r\n\r\nend\r\n"
	for i, tc := range []struct {
		mode TLSMode
		addr string
	}{{StartTLS, srv.SMTPAddr()}, {Implicit, srv.SMTPSAddr()}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			c, err := Dial(ctx, tc.addr, &Config{Mode: tc.mode, Timeout: 5 * time.Second,
				TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
				Auth: &Auth{Username: "u", Password: "pw"}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Send(ctx, Envelope{From: "a@example.org", To: []string{"b@example.org", "nobody@example.org"}, Size: int64(len(body))},
				strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Accepted) != 1 || len(res.Rejected) != 1 || res.Rejected[0].Reply.Code != 550 {
				t.Errorf("result %+v", res)
			}
			if err := c.Quit(ctx); err != nil {
				t.Error(err)
			}
			msgs, err := srv.Wait(ctx, i+1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(msgs[i].Path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != body {
				t.Errorf("stored %q, want %q", got, body)
			}
		})
	}
}
