package main

import (
	"bytes"
	"io"
	"testing"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestHas8BitReadsABoundedPrefix: the scan of a --message file before MAIL
// FROM reads at most its limit (a 10 GB file took 35 s), and a file that
// long is declared 8-bit without reading the rest; a shorter one is
// scanned to its end.
func TestHas8BitReadsABoundedPrefix(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name string
		size int64
		want bool
	}{
		{"shorter than the limit", limit - 1, false},
		{"at the limit", limit, true},
		{"far longer", 64 * limit, true},
	}
	for _, tc := range tests {
		cr := &countingReader{r: io.LimitReader(bytes.NewReader(bytes.Repeat([]byte("a"), 64*limit)), tc.size)}
		got, err := has8Bit(cr, limit)
		if err != nil || got != tc.want {
			t.Errorf("%s: has8Bit = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		if cr.n > limit {
			t.Errorf("%s: read %d bytes, more than the limit %d", tc.name, cr.n, limit)
		}
	}
}
