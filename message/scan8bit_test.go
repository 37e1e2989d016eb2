package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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

// emptyReader returns (0, nil) forever: a broken reader.
type emptyReader struct{ calls int }

func (e *emptyReader) Read([]byte) (int, error) { e.calls++; return 0, nil }

// TestScan8BitNoProgress: a reader that keeps returning (0, nil) ends the
// scan with io.ErrNoProgress after a bounded number of reads (as bufio
// does), instead of spinning forever; a few empty reads between data are
// tolerated.
func TestScan8BitNoProgress(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	var (
		got bool
		err error
		er  = &emptyReader{}
	)
	go func() {
		defer close(done)
		got, err = Scan8Bit(er, scanLimit)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Scan8Bit on a reader returning (0, nil) forever did not return")
	}
	if got || !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("Scan8Bit = %v, %v; want false, io.ErrNoProgress", got, err)
	}
	if er.calls > 1000 {
		t.Errorf("%d empty reads before giving up; want a small bound", er.calls)
	}
	// Occasional empty reads are not an error: data after them still counts.
	r := io.MultiReader(&limitedEmpty{n: 5}, strings.NewReader("plain"), &limitedEmpty{n: 5}, strings.NewReader("\xc3\xa9"))
	if got, err := Scan8Bit(r, scanLimit); !got || err != nil {
		t.Errorf("a few empty reads, then 8-bit data: Scan8Bit = %v, %v; want true", got, err)
	}
}

// limitedEmpty returns (0, nil) n times, then io.EOF.
type limitedEmpty struct{ n int }

func (l *limitedEmpty) Read([]byte) (int, error) {
	if l.n == 0 {
		return 0, io.EOF
	}
	l.n--
	return 0, nil
}
