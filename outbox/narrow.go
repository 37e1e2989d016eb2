package outbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// NarrowRecipients returns the recipients of to that a Permanent Result's
// Recipients name, in to's order: what a failed item keeps when its
// failure concerns only some of its recipients. It returns nil when the
// failure concerns them all (or names none of them): the item is then kept
// as it was.
func NarrowRecipients(to, failed []string) []string {
	if len(failed) == 0 {
		return nil
	}
	var out []string
	for _, a := range to {
		if slices.Contains(failed, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 || len(out) == len(to) {
		return nil
	}
	return out
}

// narrow replaces the message file of it, held locked as lf, by one whose
// envelope names only the recipients to: the header is written again, the
// content and its trailer are copied unchanged (the checksum covers the
// content only). The new file is written in tmp/, flushed and locked
// before it is renamed over the old one, so that no other runner can take
// it between the two and a crash leaves either file whole; it returns the
// new file's lock (lf is released). The item's fields follow the new file.
//
// Windows does not replace a file that another handle holds open (lf's):
// the new file then stays in tmp/ and old is lf, still in msg/; the caller
// moves the new file to failed/ and then removes old (a crash between the
// two leaves the item in msg/ as it was, as a crash after a delivery and
// before its removal does).
func (q *Queue) narrow(lf *lockedFile, it *Item, to []string) (*lockedFile, *lockedFile, error) {
	hl := it.lay.off - int64(len(magic))
	if hl <= 1 || hl > maxHeader {
		return nil, nil, fmt.Errorf("bad header length %d", hl)
	}
	line := make([]byte, hl)
	if _, err := lf.readerAt().ReadAt(line, int64(len(magic))); err != nil {
		return nil, nil, err
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, nil, err
	}
	env := it.Envelope
	env.To = to
	ej, err := json.Marshal(&env)
	if err != nil {
		return nil, nil, err
	}
	h["envelope"] = ej
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, nil, err
	}
	tmp := q.sub("tmp", newID(time.Now())+msgSuffix)
	nlf, err := openLocked(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if err != nil || nlf == nil {
		return nil, nil, fmt.Errorf("cannot create %s: %v", tmp, err)
	}
	done := false
	defer func() {
		if !done {
			nlf.unlock()
			os.Remove(tmp)
		}
	}()
	head := append(append([]byte(magic), hj...), '\n')
	if _, err := nlf.f.Write(head); err != nil {
		return nil, nil, err
	}
	rest := io.NewSectionReader(lf.readerAt(), it.lay.off, it.lay.size+int64(trailerLen))
	if n, err := io.Copy(nlf.f, rest); err != nil || n != it.lay.size+int64(trailerLen) {
		return nil, nil, fmt.Errorf("copying the content: %d bytes, %v", n, err)
	}
	if err := nlf.f.Sync(); err != nil {
		return nil, nil, err
	}
	done = true
	it.Envelope = env
	it.lay.off = int64(len(head))
	it.data = nil
	if os.Rename(tmp, lf.path) != nil {
		return nlf, lf, nil // Windows: see above
	}
	nlf.path = lf.path
	lf.unlock()
	return nlf, nil, nil
}
