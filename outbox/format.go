package outbox

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"time"
)

// A message file is:
//
//	tlsmail-outbox 1\n
//	{header JSON}\n
//	content bytes
//	\ntlsmail-end SIZE(16 hex) SHA256(64 hex)\n
//
// The fixed-size trailer lets a reader find the content's size without
// reading it, and detect truncation; the hash catches damage at delivery.
const (
	magic       = "tlsmail-outbox 1\n"
	trailerTag  = "\ntlsmail-end "
	trailerLen  = len(trailerTag) + 16 + 1 + 64 + 1
	maxHeader   = 1 << 20
	headRead    = 4096 // the first read of a message file
	msgSuffix   = ".msg"
	stateSuffix = ".state"
)

// idEncoding is base32hex in lower case: its alphabet is in ASCII order, so
// IDs sort by creation time.
func idEncoding() *base32.Encoding {
	return base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
}

const idLen = 26

// newID returns a time-ordered unique ID: 8 bytes of nanoseconds and 8
// random bytes.
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails
	return idEncoding().EncodeToString(b[:])
}

// validID reports whether id has the form newID makes (so that it is safe
// as a file name).
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'v') {
			return false
		}
	}
	return true
}

// header is the JSON line of a message file.
type header struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Envelope Envelope  `json:"envelope"`
	// Settings are the item's delivery settings (Data.Settings), a JSON
	// object kept as written.
	Settings json.RawMessage `json:"settings"`
	// A "group" field, the grouping key that tlsmail wrote from its
	// caller until this version, is ignored: the settings are the key
	// (see Data), and a key that lied about them could put the item in
	// another account's batch.
}

// settingsCache interns the settings of the item headers a run reads: a
// run reads many items with the same settings, which then share one
// string.
type settingsCache map[string]string

// maxCachedSettings bounds a settingsCache.
const maxCachedSettings = 256

// decodeHeader decodes a header line, interning its settings in sc if sc
// is not nil. It returns the settings as written (Item.Data), which are
// also the item's grouping key. Settings that are not a JSON object are an
// error: Enqueue never writes any other.
func decodeHeader(line []byte, sc settingsCache) (h header, raw string, err error) {
	if err := json.Unmarshal(line, &h); err != nil {
		return h, "", err
	}
	if len(h.Settings) == 0 || h.Settings[0] != '{' {
		return h, "", errors.New("the settings are not a JSON object")
	}
	raw, ok := sc[string(h.Settings)]
	if !ok {
		raw = string(h.Settings)
		if sc != nil && len(sc) < maxCachedSettings {
			sc[raw] = raw
		}
	}
	h.Settings = nil // held as raw
	return h, raw, nil
}

// layout locates the content in a message file.
type layout struct {
	off, size int64
	sum       [32]byte
}

// readItem parses the message file open as f (named path), of fsize bytes.
// When the first read covers the whole file (a small message), the item
// keeps those bytes: its content is then served from memory (an item file
// is never modified once in msg/).
func readItem(f io.ReaderAt, fsize int64, path string, head []byte, sc settingsCache) (*Item, error) {
	corrupt := func(format string, args ...any) error {
		return &CorruptError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	// One read covers the magic, the header and (for a small message)
	// the trailer. head, if given, is that read made already.
	if head == nil {
		head = make([]byte, min(fsize, headRead))
		n, _ := f.ReadAt(head, 0)
		head = head[:n]
	}
	n := len(head)
	if !bytes.HasPrefix(head, []byte(magic)) {
		return nil, corrupt("not an outbox file (bad first line)")
	}
	var line []byte
	if i := bytes.IndexByte(head[len(magic):], '\n'); i >= 0 {
		line = head[len(magic) : len(magic)+i+1]
	} else if n < headRead {
		return nil, corrupt("header line is truncated or too long")
	} else {
		br := bufio.NewReaderSize(io.NewSectionReader(f, int64(len(magic)), fsize-int64(len(magic))), headRead)
		for {
			chunk, err := br.ReadSlice('\n')
			line = append(line, chunk...)
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull || len(line) > maxHeader {
				return nil, corrupt("header line is truncated or too long")
			}
		}
	}
	h, raw, err := decodeHeader(line, sc)
	if err != nil {
		return nil, corrupt("bad header: %v", err)
	}
	off := int64(len(magic) + len(line))
	if fsize < off+int64(trailerLen) {
		return nil, corrupt("file is truncated (no trailer)")
	}
	var tr []byte
	if int64(len(head)) == fsize {
		tr = head[len(head)-trailerLen:]
	} else {
		tr = make([]byte, trailerLen)
		if _, err := f.ReadAt(tr, fsize-int64(trailerLen)); err != nil {
			return nil, corrupt("cannot read trailer: %v", err)
		}
	}
	if !bytes.HasPrefix(tr, []byte(trailerTag)) || tr[trailerLen-1] != '\n' || tr[len(trailerTag)+16] != ' ' {
		return nil, corrupt("file is truncated (bad trailer)")
	}
	size, err := strconv.ParseInt(string(tr[len(trailerTag):len(trailerTag)+16]), 16, 64)
	if err != nil || size != fsize-off-int64(trailerLen) {
		return nil, corrupt("content size does not match the file (truncated?)")
	}
	var lay layout
	lay.off, lay.size = off, size
	if n, err := hex.Decode(lay.sum[:], tr[len(trailerTag)+17:trailerLen-1]); err != nil || n != 32 {
		return nil, corrupt("bad checksum in trailer")
	}
	if !validID(h.ID) {
		return nil, corrupt("bad item ID %q", h.ID)
	}
	it := &Item{ID: h.ID, Created: h.Created, Envelope: h.Envelope,
		Size: size, path: path, lay: lay, raw: raw}
	if int64(len(head)) == fsize {
		it.data = head[off : off+size : off+size]
	}
	return it, nil
}

func trailer(size int64, sum []byte) []byte {
	b := make([]byte, 0, trailerLen)
	b = append(b, trailerTag...)
	b = fmt.Appendf(b, "%016x ", size)
	b = hex.AppendEncode(b, sum)
	return append(b, '\n')
}

// state is the mutable part of an item, in ID.state.
type state struct {
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Permanent   bool      `json:"permanent,omitempty"`
}

func (it *Item) state() state {
	return state{Attempts: it.Attempts, LastAttempt: it.LastAttempt, LastError: it.LastError,
		NextAttempt: it.NextAttempt, FailedAt: it.FailedAt, Reason: it.Reason, Permanent: it.Permanent}
}

func (it *Item) setState(s state) {
	it.Attempts, it.LastAttempt, it.LastError, it.NextAttempt = s.Attempts, s.LastAttempt, s.LastError, s.NextAttempt
	it.FailedAt, it.Reason, it.Permanent = s.FailedAt, s.Reason, s.Permanent
}

// readState reads a state file; a missing file is the zero state.
func readState(path string) (state, error) {
	s, _, err := readStateFound(path)
	return s, err
}

// readStateFound is readState that also tells whether the file exists.
func readStateFound(path string) (state, bool, error) {
	s, err := parseStateFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{}, false, nil
	}
	return s, true, err
}

// maxStateFile bounds a state file (a few hundred bytes, plus the last
// error's text).
const maxStateFile = 64 << 10

// parseStateFile reads a state file through openRO: one another user
// owns or could write, or a link, is refused unread (unsafe
// *CorruptError), and one too large is corrupt.
func parseStateFile(path string) (state, error) {
	var s state
	f, err := openRO(path)
	if err != nil {
		return s, err
	}
	defer f.Close()
	size, _, err := f.stat()
	if err != nil {
		return s, err
	}
	if size > maxStateFile {
		return s, &CorruptError{Path: path, Msg: fmt.Sprintf("state file of %d bytes is too large", size)}
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && !(err == io.EOF && int64(n) == size) {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, &CorruptError{Path: path, Msg: err.Error()}
	}
	return s, nil
}

// verifyReader yields the content and checks its hash at the end.
type verifyReader struct {
	r    io.Reader
	h    hash.Hash
	want [32]byte
	path string
	c    io.Closer
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		var got [32]byte
		if !bytes.Equal(v.h.Sum(got[:0]), v.want[:]) {
			return n, &CorruptError{Path: v.path, Msg: "content does not match its checksum"}
		}
	}
	return n, err
}

func (v *verifyReader) Close() error {
	if v.c != nil {
		return v.c.Close()
	}
	return nil
}

// Open returns the message content. During Run it reads from the file the
// runner holds; for items from List it opens the file. The reader fails
// with a *CorruptError at the end if the content was damaged on disk.
func (it *Item) Open() (io.ReadCloser, error) {
	if it.open != nil {
		return it.open()
	}
	if it.data != nil {
		// A small item read whole by Run: while Run holds it, it is the
		// file it read (checked under the lock), and the hash is still
		// checked.
		return &verifyReader{r: bytes.NewReader(it.data), h: sha256.New(), want: it.lay.sum, path: it.path}, nil
	}
	if it.lf != nil {
		return &verifyReader{r: io.NewSectionReader(it.lf.readerAt(), it.lay.off, it.lay.size), h: sha256.New(),
			want: it.lay.sum, path: it.path}, nil
	}
	// An item from List or Get: its file is opened again, as the item
	// was read (a regular file of this user: openRO) or not at all. A
	// runner may have finished the item since: delivered or removed it,
	// moved it to failed/, or replaced its file by one with fewer
	// recipients (narrow), whose layout differs from the one read. Either
	// is ErrNotFound, for the caller to look the item up again (WriteItem
	// does), never a read of the new file at the old file's offsets,
	// which would end in a checksum error (CorruptError: "damaged on
	// disk") for an intact item.
	f, err := openRO(it.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &Error{Op: "open", ID: it.ID, Path: it.path, Err: ErrNotFound,
			Msg: "the item left this part of the outbox since it was read (delivered, removed, or moved to failed/)", Fix: "look it up again"}
	}
	if err != nil {
		return nil, &Error{Op: "open", ID: it.ID, Path: it.path, Msg: "cannot open the message", Err: err}
	}
	if _, fid, err := f.stat(); err != nil || (it.fid != fileID{} && !sameFile(fid, it.fid)) {
		f.Close()
		if err != nil {
			return nil, &Error{Op: "open", ID: it.ID, Path: it.path, Msg: "cannot open the message", Err: err}
		}
		return nil, &Error{Op: "open", ID: it.ID, Path: it.path, Err: ErrNotFound,
			Msg: "the item's file was replaced since it was read (a runner narrowed its recipients)", Fix: "look it up again"}
	}
	return &verifyReader{r: io.NewSectionReader(f, it.lay.off, it.lay.size), h: sha256.New(),
		want: it.lay.sum, path: it.path, c: f}, nil
}
