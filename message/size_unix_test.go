//go:build unix

package message

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSizeOfHugeTextFileIsBounded composes a message whose text and HTML
// bodies are a 16 GiB sparse file. Compose and Size must not read it all
// (Size used to encode it into a counter: minutes before connecting);
// Size is then the lower bound made of the file sizes. The deadline is an
// upper bound for "does not hang", generous for a loaded machine.
func TestSizeOfHugeTextFileIsBounded(t *testing.T) {
	const size = 16 << 30
	p := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(p, []byte("Hello.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	type res struct {
		n   int64
		err error
	}
	done := make(chan res, 1)
	go func() {
		m, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, TextFile: p, HTMLFile: p})
		if err != nil {
			done <- res{err: err}
			return
		}
		done <- res{n: m.Size()}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.n < 2*size {
			t.Errorf("Size() = %d, want at least the two bodies' %d bytes", r.n, int64(2*size))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Compose and Size of a 16 GiB text body did not finish within 20s")
	}
}
