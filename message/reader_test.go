package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReaderPaths checks that every way of consuming Reader gives the bytes
// WriteTo gives: io.Copy (which uses the reader's WriteTo, no goroutine),
// Read alone (the pipe), and a Read followed by io.Copy of the rest.
func TestReaderPaths(t *testing.T) {
	m, err := Compose(Spec{
		From: "ann@example.com", To: []string{"bob@example.org"}, Subject: "paths",
		Text: strings.Repeat("line of text\n", 500),
		Attachments: []Attachment{{Name: "a.bin", ContentType: "application/octet-stream", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(strings.Repeat("\x00\x01\x02", 40000))), nil
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if _, err := m.WriteTo(&want); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		read func(io.Reader) ([]byte, error)
	}{
		{"io.Copy", func(r io.Reader) ([]byte, error) {
			if _, ok := r.(io.WriterTo); !ok {
				return nil, errors.New("the reader is not an io.WriterTo")
			}
			var b bytes.Buffer
			_, err := io.Copy(&b, r)
			return b.Bytes(), err
		}},
		{"Read only", func(r io.Reader) ([]byte, error) {
			return io.ReadAll(struct{ io.Reader }{r}) // hide WriteTo
		}},
		{"Read then io.Copy", func(r io.Reader) ([]byte, error) {
			head := make([]byte, 100)
			if _, err := io.ReadFull(r, head); err != nil {
				return nil, err
			}
			b := bytes.NewBuffer(head)
			_, err := io.Copy(b, r)
			return b.Bytes(), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := m.Reader()
			defer rc.Close()
			got, err := tc.read(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("got %d bytes, want %d", len(got), want.Len())
			}
			// Whatever was used, the reader is now at its end.
			if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the end = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestReaderClosed(t *testing.T) {
	m, err := Compose(Spec{From: "ann@example.com", To: []string{"bob@example.org"}, Text: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Read", "WriteTo"} {
		rc := m.Reader()
		rc.Close()
		var err error
		if name == "Read" {
			_, err = rc.Read(make([]byte, 10))
		} else {
			_, err = rc.(io.WriterTo).WriteTo(io.Discard)
		}
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("%s after Close: %v, want io.ErrClosedPipe", name, err)
		}
	}
}
