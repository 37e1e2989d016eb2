package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/tlsmail/tlsmail/outbox"
)

func Example() {
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The message is on disk before any connection is made. The settings
	// are the program's own (tlsmail stores a submit.Account): the outbox
	// keeps them as written. They say where the password comes from, never
	// what it is.
	type account struct {
		Host        string `json:"host"`
		Port        int    `json:"port"`
		User        string `json:"user"`
		PasswordEnv string `json:"password_env"`
	}
	settings, _ := json.Marshal(account{Host: "smtp.example.org", Port: 587, User: "joe", PasswordEnv: "SMTP_PASSWORD"})
	_, err = q.EnqueueData(context.Background(),
		outbox.Envelope{From: "joe@example.org", To: []string{"ann@example.net"}},
		outbox.Data{Settings: settings}, strings.NewReader("Subject: order 42\r\n\r\nThank you.\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := q.Run(context.Background(), outbox.RunConfig{
		Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			// The items of a batch share their settings: one connection.
			var a account
			if err := json.Unmarshal(batch[0].Data(), &a); err != nil {
				return err
			}
			for _, it := range batch {
				fmt.Println("sending to", it.Envelope.To, "via", a.Host)
				var sendErr error // the SMTP client's error for this message
				report(it, outbox.Classify(sendErr))
			}
			return nil
		},
	})
	fmt.Println(stats.Delivered, "delivered", err)
	// Output:
	// sending to [ann@example.net] via smtp.example.org
	// 1 delivered <nil>
}
