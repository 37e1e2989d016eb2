package message

import (
	"io"
	"strings"
	"testing"
)

// TestNeedsQPReadsABoundedPrefix: choosing a text body's encoding reads at
// most exactTextLimit bytes; longer text is quoted-printable without
// being read to its end.
func TestNeedsQPReadsABoundedPrefix(t *testing.T) {
	line := strings.Repeat("a", 70) + "\n"
	tests := []struct {
		name string
		size int64
		want bool
	}{
		{"short ASCII", 1000, false},
		{"ASCII up to the limit", exactTextLimit - 1, false},
		{"ASCII far past the limit", 8 * exactTextLimit, true},
	}
	for _, tc := range tests {
		cr := &countReader{r: io.LimitReader(repeatString(line), tc.size)}
		got, err := needsQP(cr)
		if err != nil || got != tc.want {
			t.Errorf("%s: needsQP = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		if cr.n > exactTextLimit+4096 {
			t.Errorf("%s: read %d bytes, past the limit %d", tc.name, cr.n, exactTextLimit)
		}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// repeatString is an endless reader of s, repeated.
type repeatString string

func (s repeatString) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], s)
	}
	return n, nil
}
