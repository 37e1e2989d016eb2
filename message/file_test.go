//go:build unix

package message

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestComposeRefusesNonRegularFiles gives Compose devices that never end
// (/dev/zero used to spin forever while the body was scanned for its
// encoding), a named pipe without a writer (opening it blocks) and a
// directory, and a /proc file that reports no size but never ends, as the text body, the HTML body and an attachment: each is an
// *InputError wrapping ErrNotRegular, returned at once.
func TestComposeRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"directory": dir, "/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom", "fifo": fifo}
	// A regular file by its type that says it is empty and holds 8 bytes
	// for every page of the address space (hundreds of GB): Compose used to
	// read it for hours.
	if _, err := os.Stat("/proc/self/pagemap"); err == nil {
		paths["/proc/self/pagemap"] = "/proc/self/pagemap"
	}
	specs := map[string]func(string) Spec{
		"text": func(p string) Spec { return Spec{TextFile: p} },
		"html": func(p string) Spec { return Spec{Text: "hi", HTMLFile: p} },
		"attachment": func(p string) Spec {
			return Spec{Text: "hi", Attachments: []Attachment{{Path: p, ContentType: "application/octet-stream"}}}
		},
	}
	for what, p := range paths {
		for field, mk := range specs {
			t.Run(field+"/"+what, func(t *testing.T) {
				s := mk(p)
				s.From, s.To = "a@example.com", []string{"b@example.org"}
				done := make(chan error, 1)
				go func() { _, err := Compose(s); done <- err }()
				var err error
				select {
				case err = <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("Compose with %s as the %s did not return", what, field)
				}
				var ie *InputError
				if !errors.As(err, &ie) || !errors.Is(err, ErrNotRegular) {
					t.Fatalf("Compose = %v, want an *InputError wrapping ErrNotRegular", err)
				}
				if ie.Fix == "" {
					t.Error("no fix")
				}
			})
		}
	}
}

// TestComposeOpensAttachments checks that an attachment that cannot be
// opened is an input error from Compose, before any connection, instead of
// a failure in the middle of DATA.
func TestComposeOpensAttachments(t *testing.T) {
	boom := errors.New("permission denied")
	_, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Attachments: []Attachment{{
		Name: "x.pdf", ContentType: "application/pdf",
		Open: func() (io.ReadCloser, error) { return nil, boom },
	}}})
	var ie *InputError
	if !errors.As(err, &ie) || !errors.Is(err, boom) {
		t.Errorf("Compose with an Open that fails = %v, want an *InputError wrapping it", err)
	}

	// A path that goes away between the user's command and Compose.
	gone := filepath.Join(t.TempDir(), "gone.pdf")
	_, err = Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Attachments: []Attachment{{Path: gone}}})
	if !errors.As(err, &ie) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Compose with a missing attachment = %v, want an *InputError wrapping a not-exist error", err)
	}

	// A mode-000 file: only meaningful when not root (root reads it; the
	// README's test command runs as root, where the two cases above cover
	// the rule).
	if os.Geteuid() != 0 {
		p := writeFile(t, "secret.pdf", []byte("data"))
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err = Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Attachments: []Attachment{{Path: p}}})
		if !errors.As(err, &ie) || !errors.Is(err, os.ErrPermission) {
			t.Errorf("Compose with an unreadable attachment = %v, want an *InputError wrapping a permission error", err)
		}
	}
}
