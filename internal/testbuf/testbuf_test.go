package testbuf

import (
	"strings"
	"sync"
	"testing"
)

// Writers on many goroutines each land whole (run with -race to see the
// lock is what makes this safe).
func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if n, err := b.Write([]byte("ab\n")); n != 3 || err != nil {
					t.Errorf("Write = %d, %v; want 3, nil", n, err)
				}
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); strings.Count(got, "ab\n") != 800 || len(got) != 2400 {
		t.Errorf("after 800 writes of \"ab\\n\": %d bytes, %d whole lines", len(got), strings.Count(got, "ab\n"))
	}
}
