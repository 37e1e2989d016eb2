package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const crlfMessage = "Received: from x by y; Fri, 1 Mar 2024 12:00:00 +0000\r\n" +
	"From: Ann <ann@example.com>\r\n" +
	"To: bob@example.org,\r\n" +
	"   \"Carol C.\" <carol@example.org>\r\n" +
	"Subject:   spacing   kept  \r\n" +
	"Date: Fri, 01 Mar 2024 12:30:00 +0100\r\n" +
	"Message-ID: <id-1@example.com>\r\n" +
	"X-Odd:no space after colon\r\n" +
	"\r\n" +
	"Body line 1\r\n" +
	".leading dot stays (the SMTP client stuffs it)\r\n" +
	"\r\n" +
	"trailing spaces   \r\n"

func prepare(t *testing.T, in string, opts PrepareOptions) (*Message, string) {
	t.Helper()
	m, err := Prepare(strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return m, buf.String()
}

// TestPrepareByteExact: a message with CRLF line ends, From, Date and
// Message-ID and no Bcc comes out byte for byte, even read one byte at a
// time.
func TestPrepareByteExact(t *testing.T) {
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(crlfMessage)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			m, err := Prepare(r, PrepareOptions{ExtractRecipients: true})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if buf.String() != crlfMessage {
				t.Errorf("output differs from input:\n got %q\nwant %q", buf.String(), crlfMessage)
			}
			env := m.Envelope()
			if env.From != "ann@example.com" || strings.Join(env.To, " ") != "bob@example.org carol@example.org" {
				t.Errorf("Envelope = %+v", env)
			}
			if m.Size() != -1 {
				t.Errorf("Size() = %d, want -1 for a streamed message", m.Size())
			}
			if rq := m.Requirements(); rq.SMTPUTF8 || rq.EightBitMIME {
				t.Errorf("Requirements = %+v, want none", rq)
			}
		})
	}
}

// TestPrepareTransforms covers line-end normalisation, Bcc stripping,
// recipient collection and the fields added when missing.
func TestPrepareTransforms(t *testing.T) {
	const dateLine = "Date: Fri, 01 Mar 2024 12:30:00 +0100\r\n"
	tests := []struct {
		name     string
		in       string
		opts     PrepareOptions
		want     string // expected output; "@ID@" stands for any generated Message-ID line
		from     string
		rcpts    string
		smtputf8 bool
		header8  bool
		eightBit bool
		idDomain string // domain of a generated Message-ID; default example.com
	}{
		{
			name: "bare LF becomes CRLF",
			in:   "From: a@example.com\nTo: b@example.org\nDate: x\nMessage-ID: <1@a>\n\nline\nbare cr\rmixed\r\nend",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: a@example.com\r\nTo: b@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nline\r\nbare cr\r\nmixed\r\nend",
			from: "a@example.com", rcpts: "b@example.org",
		},
		{
			name: "trailing bare CR is completed",
			in:   "From: a@example.com\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nend\r",
			opts: PrepareOptions{Recipients: []string{"r@example.org"}},
			want: "From: a@example.com\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nend\r\n",
			from: "a@example.com", rcpts: "r@example.org",
		},
		{
			name: "Bcc stripped, folded lines included, recipients kept",
			in: "From: a@example.com\r\nTo: b@example.org\r\nBcc: hidden@example.net,\r\n\tother@example.net\r\nCc: c@example.org\r\n" +
				"Date: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: a@example.com\r\nTo: b@example.org\r\nCc: c@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			from: "a@example.com", rcpts: "b@example.org hidden@example.net other@example.net c@example.org",
		},
		{
			name: "without -t the header recipients are not used, Bcc still stripped",
			in:   "From: a@example.com\r\nTo: b@example.org\r\nBCC: hidden@example.net\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			opts: PrepareOptions{Recipients: []string{"only@example.org"}},
			want: "From: a@example.com\r\nTo: b@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			from: "a@example.com", rcpts: "only@example.org",
		},
		{
			name: "command-line recipients are added to -t ones, duplicates dropped",
			in:   "From: a@example.com\r\nTo: b@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\n",
			opts: PrepareOptions{ExtractRecipients: true, Recipients: []string{"B@EXAMPLE.org", "z@example.org"}},
			want: "From: a@example.com\r\nTo: b@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\n",
			from: "a@example.com", rcpts: "b@example.org B@EXAMPLE.org z@example.org",
		},
		{
			name: "resent block gives recipients; Resent-Bcc and Bcc stripped",
			in: "Resent-From: fwd@example.com\r\nResent-To: new@example.org\r\nResent-Bcc: newhidden@example.org\r\nResent-Date: x\r\n" +
				"Resent-Message-ID: <2@a>\r\nFrom: a@example.com\r\nTo: old@example.org\r\nBcc: oldhidden@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "Resent-From: fwd@example.com\r\nResent-To: new@example.org\r\nResent-Date: x\r\n" +
				"Resent-Message-ID: <2@a>\r\nFrom: a@example.com\r\nTo: old@example.org\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\nhi\r\n",
			from: "fwd@example.com", rcpts: "new@example.org newhidden@example.org",
		},
		{
			name: "Message-ID domain comes from From, not the envelope sender",
			in:   "From: a@author.example\r\nTo: b@example.org\r\n" + dateLine + "\r\n",
			opts: PrepareOptions{ExtractRecipients: true, From: "bounces@example.com"},
			want: "From: a@author.example\r\nTo: b@example.org\r\n" + dateLine + "@ID@\r\n",
			from: "bounces@example.com", rcpts: "b@example.org", idDomain: "author.example",
		},
		{
			name: "Sender is the envelope sender",
			in:   "From: a@example.com\r\nSender: s@example.com\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\n",
			opts: PrepareOptions{Recipients: []string{"r@example.org"}},
			want: "From: a@example.com\r\nSender: s@example.com\r\nDate: x\r\nMessage-ID: <1@a>\r\n\r\n",
			from: "s@example.com", rcpts: "r@example.org",
		},
		{
			name: "missing From, Date and Message-ID are appended",
			in:   "To: b@example.org\nSubject: hi\n\nbody\n",
			opts: PrepareOptions{ExtractRecipients: true, From: "Ann <ann@example.com>", Date: testDate},
			want: "To: b@example.org\r\nSubject: hi\r\nFrom: \"Ann\" <ann@example.com>\r\n" +
				"Date: Fri, 01 Mar 2024 12:30:00 +0100\r\n@ID@\r\nbody\r\n",
			from: "ann@example.com", rcpts: "b@example.org",
		},
		{
			name: "header without body",
			in:   "From: a@example.com\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: a@example.com\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>\r\n\r\n",
			from: "a@example.com", rcpts: "b@example.org",
		},
		{
			name: "UTF-8 header needs SMTPUTF8, 8-bit body needs 8BITMIME",
			in:   "From: Jörg <jörg@example.com>\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>\r\n\r\nGrüße\r\n",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: Jörg <jörg@example.com>\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>\r\n\r\nGrüße\r\n",
			from: "jörg@example.com", rcpts: "b@example.org", smtputf8: true, eightBit: true,
		},
		{
			name: "UTF-8 header text with ASCII addresses can be downgraded",
			in:   "From: Jörg <j@example.com>\r\nTo: b@example.org\r\nSubject: Grüße\r\n" + dateLine + "Message-ID: <1@a>\r\n\r\nhi\r\n",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: Jörg <j@example.com>\r\nTo: b@example.org\r\nSubject: Grüße\r\n" + dateLine + "Message-ID: <1@a>\r\n\r\nhi\r\n",
			from: "j@example.com", rcpts: "b@example.org", header8: true,
		},
		{
			name: "declared 8bit transfer encoding",
			in:   "From: a@example.com\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>\r\nContent-Transfer-Encoding: 8BIT\r\n\r\nascii\r\n",
			opts: PrepareOptions{ExtractRecipients: true},
			want: "From: a@example.com\r\nTo: b@example.org\r\n" + dateLine + "Message-ID: <1@a>\r\nContent-Transfer-Encoding: 8BIT\r\n\r\nascii\r\n",
			from: "a@example.com", rcpts: "b@example.org", eightBit: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out := prepare(t, tt.in, tt.opts)
			checkWire(t, []byte(out), true)
			want := tt.want
			if i := strings.Index(want, "@ID@"); i >= 0 {
				j := strings.Index(out[i:], "\r\n")
				id := out[i : i+j+2]
				dom := tt.idDomain
				if dom == "" {
					dom = "example.com"
				}
				if !strings.HasPrefix(id, "Message-Id: <") || !strings.HasSuffix(id, "@"+dom+">\r\n") {
					t.Errorf("generated Message-ID line %q", id)
				}
				want = strings.Replace(want, "@ID@", id, 1)
			}
			if out != want {
				t.Errorf("output:\n got %q\nwant %q", out, want)
			}
			env := m.Envelope()
			if env.From != tt.from || strings.Join(env.To, " ") != tt.rcpts {
				t.Errorf("Envelope = %q %q, want %q %q", env.From, env.To, tt.from, tt.rcpts)
			}
			rq := m.Requirements()
			if rq.SMTPUTF8 != tt.smtputf8 || rq.HeaderUTF8 != tt.header8 || rq.EightBitMIME != tt.eightBit {
				t.Errorf("Requirements = %+v, want SMTPUTF8 %v HeaderUTF8 %v EightBitMIME %v", rq, tt.smtputf8, tt.header8, tt.eightBit)
			}
		})
	}
}

// TestPrepareErrors checks bad prepared input is an *InputError.
func TestPrepareErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		opts      PrepareOptions
		wantField string
		wantIn    string
	}{
		{"empty", "", PrepareOptions{}, "message", "empty"},
		{"mbox From line", "From ann@example.com Fri Mar  1 12:00:00 2024\nFrom: a@example.com\n\n", PrepareOptions{}, "message line 1", "not a header"},
		{"starts with continuation", " folded\nFrom: a@example.com\n\n", PrepareOptions{}, "message line 1", "continuation"},
		{"not a header line", "From: a@example.com\nthis is body text without a blank line\n", PrepareOptions{}, "message line 2", "not a header"},
		{"space in field name", "From: a@example.com\nX Bad: y\n\n", PrepareOptions{}, "message line 2", "not a header"},
		{"bare CR in header", "From: a@example.com\nSubject: hi\rBcc: evil@example.net\n\n", PrepareOptions{Recipients: []string{"b@example.org"}}, "message line 2", "bare carriage return"},
		{"NUL in header", "From: a@example.com\nSubject: a\x00b\n\n", PrepareOptions{}, "message line 2", "NUL"},
		{"no From anywhere", "To: b@example.org\n\nhi\n", PrepareOptions{ExtractRecipients: true}, "from", "no From"},
		{"no recipients", "From: a@example.com\n\nhi\n", PrepareOptions{ExtractRecipients: true}, "recipients", "no recipients"},
		{"bad To with -t", "From: a@example.com\nTo: not an address\n\n", PrepareOptions{ExtractRecipients: true}, `header "To"`, "not hold a valid address"},
		{"bad From option", "To: b@example.org\n\n", PrepareOptions{ExtractRecipients: true, From: "nope"}, "from", "not a valid address"},
		{"CRLF in From option", "To: b@example.org\n\n", PrepareOptions{ExtractRecipients: true, From: "a@example.com\r\nBcc: x@y"}, "from", "carriage return"},
		{"LF in recipient option", "From: a@example.com\n\n", PrepareOptions{Recipients: []string{"b@example.org\nX: y"}}, "recipients[0]", "line feed"},
		{"header too large", "From: a@example.com\nX-Pad: " + strings.Repeat("p", 2000) + "\n\n", PrepareOptions{MaxHeaderBytes: 1024}, "message", "larger than 1024"},
		{"line too long", "From: a@example.com\nX-Pad: " + strings.Repeat("p", maxPreparedLine+10) + "\n\n", PrepareOptions{}, "message line 2", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Prepare(strings.NewReader(tt.in), tt.opts)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Prepare = %v, %v; want *InputError", m, err)
			}
			if ie.Field != tt.wantField || !strings.Contains(ie.Problem, tt.wantIn) || ie.Fix == "" {
				t.Errorf("InputError{Field: %q, Problem: %q, Fix: %q}, want field %q and problem containing %q", ie.Field, ie.Problem, ie.Fix, tt.wantField, tt.wantIn)
			}
		})
	}
}

// TestPrepareOnce: the body is a stream, so a second write is refused.
func TestPrepareOnce(t *testing.T) {
	m, _ := prepare(t, crlfMessage, PrepareOptions{ExtractRecipients: true})
	if _, err := m.WriteTo(io.Discard); !errors.As(err, new(UsedError)) {
		t.Errorf("second WriteTo = %v, want UsedError", err)
	}
}

// TestPrepareLargeBody streams a large body through Prepare without
// holding it: allocation stays far below the body size.
func TestPrepareLargeBody(t *testing.T) {
	size := int64(32 << 20)
	if testing.Short() {
		size = 4 << 20
	}
	hdr := "From: a@example.com\nTo: b@example.org\n\n"
	body := &lineReader{n: size}
	m, err := Prepare(io.MultiReader(strings.NewReader(hdr), body), PrepareOptions{ExtractRecipients: true})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtimeStats
	before.read()
	var cw countWriter
	n, err := m.WriteTo(&cw)
	after.read()
	if err != nil {
		t.Fatal(err)
	}
	// Every LF of the body became CRLF.
	wantBody := size + size/32
	if got := n - int64(len(m.prepared.header)); got != wantBody {
		t.Errorf("body is %d bytes after normalisation, want %d", got, wantBody)
	}
	if alloc := after.totalAlloc - before.totalAlloc; alloc > 4<<20 {
		t.Errorf("streaming a %d MB body allocated %d bytes", size>>20, alloc)
	}
}

// lineReader yields n bytes of 31-character LF-terminated lines.
type lineReader struct{ n, off int64 }

func (r *lineReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if rem := r.n - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		if (r.off+int64(i))%32 == 31 {
			p[i] = '\n'
		} else {
			p[i] = 'a' + byte((r.off+int64(i))%26)
		}
	}
	r.off += int64(len(p))
	return len(p), nil
}
