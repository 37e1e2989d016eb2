// Command mkmsg prepares the inputs of the large-message benchmark: a file
// of pseudo-random bytes (-attach, made when missing or of another size)
// and the RFC 5322/MIME message that tlsmail composes around it, written to
// -out so that other tools can send exactly the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/tlsmail/tlsmail/message"
)

func main() {
	attach := flag.String("attach", "", "attachment file to use or make")
	size := flag.Int64("size", 1<<30, "attachment size in bytes")
	out := flag.String("out", "", "write the composed message here")
	from := flag.String("from", "bench@example.com", "sender")
	to := flag.String("to", "sink@example.com", "recipient")
	flag.Parse()
	if err := run(*attach, *size, *out, *from, *to); err != nil {
		fmt.Fprintln(os.Stderr, "mkmsg:", err)
		os.Exit(1)
	}
}

func run(attach string, size int64, out, from, to string) error {
	if fi, err := os.Stat(attach); err != nil || fi.Size() != size {
		if err := makeFile(attach, size); err != nil {
			return err
		}
	}
	if out == "" {
		return nil
	}
	m, err := message.Compose(message.Spec{
		From: from, To: []string{to}, Subject: "large attachment",
		Text:        "The attachment is pseudo-random data.\n",
		Attachments: []message.Attachment{{Path: attach}},
	})
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := m.WriteTo(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func makeFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{'t', 'l', 's', 'm', 'a', 'i', 'l'})
	if _, err := io.CopyBuffer(f, io.LimitReader(r, size), make([]byte, 1<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
