package message

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// scanLimit is the limit the command line gives Scan8Bit for a --message
// file: 8 MiB.
const scanLimit = 8 << 20

// Scan8Bit decides BODY=8BITMIME before MAIL FROM for a message file: a
// byte above 127 anywhere, in any read, counts; none means 7-bit.
func TestScan8Bit(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 31, 32, 33, 256<<10 - 1, 256 << 10, 256<<10 + 1, 600 << 10} {
		plain := bytes.Repeat([]byte("a"), size)
		readers := func(b []byte) map[string]io.Reader {
			rs := map[string]io.Reader{"whole": bytes.NewReader(b)}
			if size < 4096 {
				rs["byte by byte"] = iotest.OneByteReader(bytes.NewReader(b))
			}
			return rs
		}
		for name, r := range readers(plain) {
			if got, err := Scan8Bit(r, scanLimit); got || err != nil {
				t.Errorf("%d ASCII bytes, %s: Scan8Bit = %v, %v; want false", size, name, got, err)
			}
		}
		for _, at := range []int{0, size / 2, size - 1} {
			m := bytes.Clone(plain)
			m[at] = 0xC3
			for name, r := range readers(m) {
				if got, err := Scan8Bit(r, scanLimit); !got || err != nil {
					t.Errorf("%d bytes with 0xC3 at %d, %s: Scan8Bit = %v, %v; want true", size, at, name, got, err)
				}
			}
		}
	}
	if got, err := Scan8Bit(bytes.NewReader(nil), scanLimit); got || err != nil {
		t.Errorf("empty: Scan8Bit = %v, %v; want false", got, err)
	}
	if _, err := Scan8Bit(iotest.ErrReader(io.ErrUnexpectedEOF), scanLimit); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing reader: err = %v, want it passed on", err)
	}
}

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

// TestScan8BitReadsABoundedPrefix: the scan of a message file before MAIL
// FROM reads at most its limit (a 10 GB file took 35 s), and a file that
// long is declared 8-bit without reading the rest; a shorter one is
// scanned to its end.
func TestScan8BitReadsABoundedPrefix(t *testing.T) {
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
		got, err := Scan8Bit(cr, limit)
		if err != nil || got != tc.want {
			t.Errorf("%s: Scan8Bit = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		if cr.n > limit {
			t.Errorf("%s: read %d bytes, more than the limit %d", tc.name, cr.n, limit)
		}
	}
}
