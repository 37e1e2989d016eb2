package submit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/submit"
)

// WriteItem prints a queued (or failed) message as it is stored, streamed,
// as `tlsmail queue show ID` does; an unknown ID is outbox.ErrNotFound.
func ExampleWriteItem() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	q, err := outbox.Open(filepath.Join(dir, "queue"), outbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	a := &submit.Account{Host: "mail.example.com", Port: 587}
	id, err := submit.Enqueue(context.Background(), q, a, outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org"}},
		strings.NewReader("Subject: hi\n\nhello\n"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := submit.WriteItem(os.Stdout, q, id, submit.ShowOptions{}); err != nil {
		log.Fatal(err)
	}
	_, err = submit.WriteItem(os.Stdout, q, "00000000000000000000000000000000", submit.ShowOptions{})
	fmt.Println(errors.Is(err, outbox.ErrNotFound))
	// Output:
	// Subject: hi
	//
	// hello
	// true
}
