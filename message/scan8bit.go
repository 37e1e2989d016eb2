package message

import (
	"errors"
	"io"
)

// Scan8Bit reports whether r holds a byte above 127 within its first
// limit bytes: whether a message needs BODY=8BITMIME (RFC 6152, section
// 3) before MAIL FROM is sent. When r has limit bytes or more and none of
// them was such a byte, it reports true without reading further: the
// message is declared 8-bit, which a server offering 8BITMIME accepts for
// 7-bit content too, rather than reading a file of many gigabytes before
// connecting. It reads at most limit bytes, in chunks of 256 KiB; a read
// error other than io.EOF is returned, and io.ErrNoProgress after
// maxEmptyReads reads in a row that returned no data and no error.
func Scan8Bit(r io.Reader, limit int64) (bool, error) {
	buf := make([]byte, min(256<<10, max(limit, 1)))
	var read int64
	empty := 0
	for {
		if read >= limit {
			return true, nil
		}
		n, err := r.Read(buf[:min(int64(len(buf)), limit-read)])
		read += int64(n)
		if n == 0 && err == nil {
			// A reader that keeps returning (0, nil) is broken; give up
			// after as many empty reads as bufio tolerates.
			if empty++; empty >= maxEmptyReads {
				return false, io.ErrNoProgress
			}
			continue
		}
		empty = 0
		if Has8Bit(buf[:n]) {
			return true, nil
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// maxEmptyReads is how many reads in a row may return (0, nil) before
// Scan8Bit gives up with io.ErrNoProgress: bufio's bound.
const maxEmptyReads = 100
