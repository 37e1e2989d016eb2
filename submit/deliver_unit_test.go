package submit

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// scanBytes (messages in memory) and scanContent (streamed) must agree on
// where the header ends and which part holds 8-bit bytes.
func TestScanBytesMatchesScanContent(t *testing.T) {
	tests := []struct {
		name           string
		msg            string
		header8, body8 bool
	}{
		{"ascii", "Subject: hi\r\n\r\nbody\r\n", false, false},
		{"8-bit body", "Subject: hi\r\n\r\nbod\xc3\xa9\r\n", false, true},
		{"8-bit header", "Subject: h\xc3\xa9\r\n\r\nbody\r\n", true, false},
		{"both", "Subject: h\xc3\xa9\r\n\r\nbod\xc3\xa9\r\n", true, true},
		{"bare LF", "Subject: hi\n\nbod\xc3\xa9\n", false, true},
		{"bare LF header", "Subject: h\xc3\xa9\nX: y\n\nbody\n", true, false},
		{"no body", "Subject: h\xc3\xa9\r\n", true, false},
		{"no header", "\r\nbod\xc3\xa9\r\n", false, true},
		{"no header, bare LF", "\nbod\xc3\xa9", false, true},
		{"empty", "", false, false},
		{"second empty line is body", "A: b\r\n\r\n\r\n\xff", false, true},
		{"CRLF then LF LF", "A: b\r\nC: d\n\n\xff", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b := scanBytes([]byte(tt.msg))
			if h != tt.header8 || b != tt.body8 {
				t.Errorf("scanBytes = %v, %v; want %v, %v", h, b, tt.header8, tt.body8)
			}
			h, b, err := scanContent(strings.NewReader(tt.msg))
			if err != nil || h != tt.header8 || b != tt.body8 {
				t.Errorf("scanContent = %v, %v, %v; want %v, %v", h, b, err, tt.header8, tt.body8)
			}
		})
	}
}

// eofErrReader returns its bytes and then err instead of io.EOF (as the
// outbox's reader does when the content does not match its checksum).
type eofErrReader struct {
	r   *strings.Reader
	err error
}

func (e *eofErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && e.err != nil {
		err = e.err
	}
	return n, err
}

// readExactly reads a queued item's content of a known size and reads on
// to the end, so that the outbox's checksum is checked.
func TestReadExactly(t *testing.T) {
	damaged := errors.New("content does not match its checksum")
	tests := []struct {
		name    string
		content string
		size    int64
		endErr  error
		wantErr bool
	}{
		{"exact", "Subject: x\r\n\r\nbody\r\n", 20, nil, false},
		{"empty", "", 0, nil, false},
		{"shorter than recorded", "Subject: x\r\n", 20, nil, true},
		{"longer than recorded", "Subject: x\r\n\r\nbody\r\n", 10, nil, true},
		{"checksum error at the end", "Subject: x\r\n\r\nbody\r\n", 20, damaged, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := readExactly(&eofErrReader{strings.NewReader(tt.content), tt.endErr}, tt.size)
			if (err != nil) != tt.wantErr {
				t.Fatalf("readExactly = %q, %v; want error %v", b, err, tt.wantErr)
			}
			if tt.endErr != nil && !errors.Is(err, tt.endErr) {
				t.Errorf("error %v, want the reader's %v", err, tt.endErr)
			}
			if err == nil && string(b) != tt.content {
				t.Errorf("read %q, want %q", b, tt.content)
			}
		})
	}
}
