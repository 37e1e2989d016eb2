package smtp

import (
	"bufio"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in       string
		code     int
		enhanced string
		lines    []string
		err      bool
	}{
		{"250 ok\r\n", 250, "", []string{"ok"}, false},
		{"250 2.0.0 Ok: queued as X\r\n", 250, "2.0.0", []string{"Ok: queued as X"}, false},
		{"550-5.1.1 no such\r\n550 5.1.1 user\r\n", 550, "5.1.1", []string{"no such", "user"}, false},
		{"250 5.0.0 class mismatch is text\r\n", 250, "", []string{"5.0.0 class mismatch is text"}, false},
		{"220\r\n", 220, "", []string{""}, false},
		{"250 bare LF\n", 250, "", []string{"bare LF"}, false},
		{"25 short\r\n", 0, "", nil, true},
		{"2500 no separator\r\n", 0, "", nil, true},
		{"999 out of range\r\n", 0, "", nil, true},
		{"250-a\r\n251 b\r\n", 0, "", nil, true},
		{"250-unterminated", 0, "", nil, true},
	}
	for _, tt := range tests {
		r, err := readReply(bufio.NewReader(strings.NewReader(tt.in)), nil)
		if (err != nil) != tt.err {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if r.Code != tt.code || r.Enhanced != tt.enhanced || !reflect.DeepEqual(r.Lines, tt.lines) {
			t.Errorf("%q: got %d %q %q", tt.in, r.Code, r.Enhanced, r.Lines)
		}
	}
}

func TestExtensions(t *testing.T) {
	r := &Reply{Code: 250, Lines: []string{"mx.example greets you", "PIPELINING", "size 35882577", "AUTH PLAIN LOGIN", "AUTH=LOGIN", "STARTTLS", "8BITMIME"}}
	ext := extensions(r)
	want := map[string]string{"PIPELINING": "", "SIZE": "35882577", "AUTH": "PLAIN LOGIN LOGIN", "STARTTLS": "", "8BITMIME": ""}
	if !reflect.DeepEqual(ext, want) {
		t.Errorf("got %q, want %q", ext, want)
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add("250-a\r\n250 b\r\n")
	f.Add("220 2.0.0 hi\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(in), 64), nil)
		if err == nil && (r.Code < 200 || r.Code > 599 || len(r.Lines) == 0) {
			t.Fatalf("accepted %q as %+v", in, r)
		}
	})
}

func BenchmarkReadReply(b *testing.B) {
	in := "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 2.0.0 ENHANCEDSTATUSCODES\r\n"
	rd := strings.NewReader(in)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		rd.Seek(0, io.SeekStart)
		br.Reset(rd)
		if _, err := readReply(br, nil); err != nil {
			b.Fatal(err)
		}
	}
}
