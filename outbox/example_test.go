package outbox_test

import (
	"context"
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
	// say where the password comes from, never what it is.
	settings := outbox.Settings{Host: "smtp.example.org", Port: 587, TLS: "starttls",
		Auth: "on", User: "joe", Secret: outbox.SecretRef{Source: "env", Ref: "SMTP_PASSWORD"}}
	_, err = q.Enqueue(context.Background(),
		outbox.Envelope{From: "joe@example.org", To: []string{"ann@example.net"}},
		settings, strings.NewReader("Subject: order 42\r\n\r\nThank you.\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := q.Run(context.Background(), outbox.RunConfig{
		Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			// One connection to batch[0].Settings.Host for the whole batch.
			for _, it := range batch {
				fmt.Println("sending to", it.Envelope.To, "via", it.Settings.Host)
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
