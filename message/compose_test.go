package message

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

var testDate = time.Date(2024, 3, 1, 12, 30, 0, 0, time.FixedZone("", 3600))

func compose(t *testing.T, s Spec) (*Message, []byte) {
	t.Helper()
	m, err := Compose(s)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return m, buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestComposeHeaders checks the header fields Compose writes, decoded the
// way a mail reader decodes them.
func TestComposeHeaders(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		want    map[string]string // decoded header values; "" means absent
		wantRaw []string          // substrings of the raw header section
	}{
		{
			name: "ascii",
			spec: Spec{From: "Ann <ann@example.com>", To: []string{"bob@example.org"}, Subject: "Hello there", Date: testDate, MessageID: "<abc@example.com>"},
			want: map[string]string{
				"From": "Ann <ann@example.com>", "To": "bob@example.org", "Subject": "Hello there",
				"Message-Id": "abc@example.com", "Date": "Fri, 01 Mar 2024 12:30:00 +0100", "Mime-Version": "1.0",
			},
			wantRaw: []string{"\r\nSubject: Hello there\r\n", "\r\nTo: bob@example.org\r\n", "Message-Id: <abc@example.com>\r\n"},
		},
		{
			name: "utf-8 subject and display name",
			spec: Spec{From: "Jörg Müller <joerg@example.com>", To: []string{"Zoë <zoe@example.org>"}, Subject: "Grüße aus Köln", Date: testDate},
			want: map[string]string{
				"From": "Jörg Müller <joerg@example.com>", "To": "Zoë <zoe@example.org>", "Subject": "Grüße aus Köln",
			},
			wantRaw: []string{"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"},
		},
		{
			name: "long utf-8 subject folds into several encoded-words",
			spec: Spec{From: "a@example.com", To: []string{"b@example.org"}, Subject: strings.Repeat("Ünïcödé wörds ", 12), Date: testDate},
			want: map[string]string{"Subject": strings.Repeat("Ünïcödé wörds ", 12)},
		},
		{
			name: "bcc is never written",
			spec: Spec{From: "a@example.com", To: []string{"b@example.org"}, Bcc: []string{"hidden@example.net"}, Date: testDate},
			want: map[string]string{"Bcc": ""},
		},
		{
			name: "cc, reply-to and an extra header",
			spec: Spec{From: "a@example.com", Cc: []string{"c@example.org", "d@example.org"}, ReplyTo: []string{"r@example.com"}, Date: testDate,
				Headers: []Header{{"X-Mailer", "tlsmail"}, {"X-Note", "naïve"}}},
			want: map[string]string{"Cc": "c@example.org, d@example.org", "Reply-To": "r@example.com", "X-Mailer": "tlsmail", "X-Note": "naïve", "To": ""},
		},
		{
			name:    "generated message-id uses the From domain",
			spec:    Spec{From: "a@mail.example.com", To: []string{"b@example.org"}, Date: testDate},
			wantRaw: []string{"@mail.example.com>\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out := compose(t, tt.spec)
			checkWire(t, out, false)
			if m.Requirements().SMTPUTF8 || m.Requirements().EightBitMIME {
				t.Errorf("Requirements = %+v, want none", m.Requirements())
			}
			raw := string(headerSection(out))
			for _, s := range tt.wantRaw {
				if !strings.Contains(raw, s) {
					t.Errorf("header lacks %q:\n%s", s, raw)
				}
			}
			mr, err := mail.CreateReader(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				var got string
				switch k {
				case "From", "To", "Cc", "Reply-To", "Bcc":
					as, err := mr.Header.AddressList(k)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					var ss []string
					for _, a := range as {
						if a.Name != "" {
							ss = append(ss, a.Name+" <"+a.Address+">")
						} else {
							ss = append(ss, a.Address)
						}
					}
					got = strings.Join(ss, ", ")
				case "Subject":
					got, _ = mr.Header.Subject()
				case "Message-Id":
					got, _ = mr.Header.MessageID()
				default:
					got, err = mr.Header.Text(k)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestComposeInjection feeds header-injection attempts and other bad input
// and expects an *InputError naming the field.
func TestComposeInjection(t *testing.T) {
	base := func() Spec {
		return Spec{From: "a@example.com", To: []string{"b@example.org"}, Subject: "ok", Text: "body"}
	}
	dir := t.TempDir()
	tests := []struct {
		name      string
		edit      func(*Spec)
		wantField string
		wantIn    string // substring of Problem
	}{
		{"CRLF in subject", func(s *Spec) { s.Subject = "hi\r\nBcc: evil@example.net" }, "subject", "carriage return"},
		{"LF in subject", func(s *Spec) { s.Subject = "hi\nBcc: evil@example.net" }, "subject", "line feed"},
		{"NUL in subject", func(s *Spec) { s.Subject = "hi\x00there" }, "subject", "NUL"},
		{"escape in subject", func(s *Spec) { s.Subject = "hi\x1b[31m" }, "subject", "0x1b"},
		{"invalid UTF-8 subject", func(s *Spec) { s.Subject = "caf\xe9" }, "subject", "UTF-8"},
		{"CRLF in from", func(s *Spec) { s.From = "a@example.com\r\nBcc: evil@example.net" }, "from", "carriage return"},
		{"LF in to", func(s *Spec) { s.To = []string{"b@example.org\nBcc: evil@example.net"} }, "to[0]", "line feed"},
		{"CR in cc display name", func(s *Spec) { s.Cc = []string{"x@example.org", "Eve\r <e@example.org>"} }, "cc[1]", "carriage return"},
		{"LF in bcc", func(s *Spec) { s.Bcc = []string{"e@example.org\n"} }, "bcc[0]", "line feed"},
		{"LF in reply-to", func(s *Spec) { s.ReplyTo = []string{"r@example.org\nX: y"} }, "reply-to[0]", "line feed"},
		{"CRLF in header value", func(s *Spec) { s.Headers = []Header{{"X-Foo", "v\r\nBcc: evil@example.net"}} }, `header "X-Foo"`, "carriage return"},
		{"CRLF in header name", func(s *Spec) { s.Headers = []Header{{"X-Foo\r\nBcc", "v"}} }, "headers[0] name", "carriage return"},
		{"space in header name", func(s *Spec) { s.Headers = []Header{{"X Foo", "v"}} }, "headers[0]", "cannot hold"},
		{"colon in header name", func(s *Spec) { s.Headers = []Header{{"X:Foo", "v"}} }, "headers[0]", "cannot hold"},
		{"non-ASCII header name", func(s *Spec) { s.Headers = []Header{{"X-Föö", "v"}} }, "headers[0]", "cannot hold"},
		{"empty header name", func(s *Spec) { s.Headers = []Header{{"", "v"}} }, "headers[0]", "empty name"},
		{"duplicate Content-Type", func(s *Spec) { s.Headers = []Header{{"Content-Type", "text/html"}} }, `header "Content-Type"`, "duplicate"},
		{"duplicate MIME-Version", func(s *Spec) { s.Headers = []Header{{"mime-version", "1.0"}} }, `header "mime-version"`, "duplicate"},
		{"duplicate CTE", func(s *Spec) { s.Headers = []Header{{"Content-Transfer-Encoding", "8bit"}} }, `header "Content-Transfer-Encoding"`, "duplicate"},
		{"Bcc as extra header", func(s *Spec) { s.Headers = []Header{{"Bcc", "e@example.net"}} }, `header "Bcc"`, "duplicate"},
		{"Subject as extra header", func(s *Spec) { s.Headers = []Header{{"SUBJECT", "x"}} }, `header "SUBJECT"`, "duplicate"},
		{"CRLF in message-id", func(s *Spec) { s.MessageID = "<a@b>\r\nBcc: e@example.net" }, "message-id", "carriage return"},
		{"malformed message-id", func(s *Spec) { s.MessageID = "no-at-sign" }, "message-id", "not a valid"},
		{"space in message-id", func(s *Spec) { s.MessageID = "<a b@c>" }, "message-id", "not a valid"},
		{"CRLF in attachment name", func(s *Spec) {
			s.Attachments = []Attachment{{Path: writeFile(t, "a.txt", []byte("x")), Name: "a\r\nContent-Type: text/html"}}
		}, "attachments[0] name", "carriage return"},
		{"CRLF in attachment type", func(s *Spec) {
			s.Attachments = []Attachment{{Path: writeFile(t, "a.txt", []byte("x")), ContentType: "text/plain\r\nX: y"}}
		}, "attachments[0]", "not usable"},
		{"multipart attachment type", func(s *Spec) {
			s.Attachments = []Attachment{{Path: writeFile(t, "a.txt", []byte("x")), ContentType: "multipart/mixed"}}
		}, "attachments[0]", "not usable"},
		{"missing attachment", func(s *Spec) { s.Attachments = []Attachment{{Path: filepath.Join(dir, "nope.pdf")}} }, "attachments[0]", "cannot attach"},
		{"directory attachment", func(s *Spec) { s.Attachments = []Attachment{{Path: dir}} }, "attachments[0]", "not a regular file"},
		{"attachment without source", func(s *Spec) { s.Attachments = []Attachment{{Name: "x"}} }, "attachments[0]", "neither"},
		{"missing text file", func(s *Spec) { s.Text = ""; s.TextFile = filepath.Join(dir, "nope.txt") }, "text file", "no such file"},
		{"bad address", func(s *Spec) { s.To = []string{"not an address"} }, "to[0]", "not a valid address"},
		{"empty from", func(s *Spec) { s.From = "" }, "from", "empty"},
		{"two froms", func(s *Spec) { s.From = "a@example.com, b@example.com" }, "from", "2 addresses"},
		{"no recipients", func(s *Spec) { s.To = nil }, "to", "no recipients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			m, err := Compose(s)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Compose = %v, %v; want *InputError", m, err)
			}
			if ie.Field != tt.wantField || !strings.Contains(ie.Problem, tt.wantIn) {
				t.Errorf("InputError{Field: %q, Problem: %q}, want field %q and problem containing %q", ie.Field, ie.Problem, tt.wantField, tt.wantIn)
			}
			if ie.Fix == "" {
				t.Errorf("InputError for %q has no Fix", ie.Field)
			}
		})
	}
}

// TestComposeStructure composes messages of every shape and parses them
// back with go-message: MIME types, transfer encodings, decoded bodies and
// attachment bytes must match the input.
func TestComposeStructure(t *testing.T) {
	bin := make([]byte, 10000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	pdf := writeFile(t, "report.pdf", append([]byte("%PDF-1.4\n"), bin...))
	png := writeFile(t, "noext", append([]byte("\x89PNG\r\n\x1a\n"), bin[:100]...))
	empty := writeFile(t, "empty.bin", nil)
	textFile := writeFile(t, "body.txt", []byte("from a file\nline two\n"))
	longLine := strings.Repeat("x", 1200)

	type leaf struct{ ctype, cte, disp, filename, body string }
	tests := []struct {
		name  string
		spec  Spec
		root  string
		parts []leaf
	}{
		{"empty body", Spec{}, "text/plain", []leaf{{"text/plain", "7bit", "", "", ""}}},
		{"ascii text", Spec{Text: "Hello\nWorld\n"}, "text/plain", []leaf{{"text/plain", "7bit", "", "", "Hello\r\nWorld\r\n"}}},
		{"utf-8 text is quoted-printable", Spec{Text: "Grüße\n"}, "text/plain", []leaf{{"text/plain", "quoted-printable", "", "", "Grüße\r\n"}}},
		{"bare CR in utf-8 text", Spec{Text: "Grüße\rx"}, "text/plain", []leaf{{"text/plain", "quoted-printable", "", "", "Grüße\r\nx"}}},
		{"bare CR in ascii text", Spec{Text: "a\rb\r\nc"}, "text/plain", []leaf{{"text/plain", "7bit", "", "", "a\r\nb\r\nc"}}},
		{"long line is quoted-printable", Spec{Text: longLine}, "text/plain", []leaf{{"text/plain", "quoted-printable", "", "", longLine}}},
		{"text file", Spec{TextFile: textFile}, "text/plain", []leaf{{"text/plain", "7bit", "", "", "from a file\r\nline two\r\n"}}},
		{"html only", Spec{HTML: "<p>hé</p>"}, "text/html", []leaf{{"text/html", "quoted-printable", "", "", "<p>hé</p>"}}},
		{"alternative", Spec{Text: "plain", HTML: "<b>rich</b>"}, "multipart/alternative", []leaf{
			{"text/plain", "7bit", "", "", "plain"}, {"text/html", "7bit", "", "", "<b>rich</b>"}}},
		{"mixed", Spec{Text: "see attached", Attachments: []Attachment{{Path: pdf}, {Path: png, Name: "Bild für dich"}, {Path: empty}}}, "multipart/mixed", []leaf{
			{"text/plain", "7bit", "", "", "see attached"},
			{"application/pdf", "base64", "attachment", "report.pdf", string(append([]byte("%PDF-1.4\n"), bin...))},
			{"image/png", "base64", "attachment", "Bild für dich", string(append([]byte("\x89PNG\r\n\x1a\n"), bin[:100]...))},
			{"application/octet-stream", "base64", "attachment", "empty.bin", ""},
		}},
		{"mixed with alternative", Spec{Text: "t", HTML: "<i>h</i>", Attachments: []Attachment{{Path: pdf, ContentType: "application/x-custom"}}}, "multipart/mixed", []leaf{
			{"text/plain", "7bit", "", "", "t"}, {"text/html", "7bit", "", "", "<i>h</i>"},
			{"application/x-custom", "base64", "attachment", "report.pdf", string(append([]byte("%PDF-1.4\n"), bin...))},
		}},
		{"attachment only, from Open", Spec{Attachments: []Attachment{{
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("col1,col2\n")), nil }, Name: "data.csv", Size: 10,
		}}}, "multipart/mixed", []leaf{{"text/csv", "base64", "attachment", "data.csv", "col1,col2\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.From, s.To, s.Bcc, s.Date = "a@example.com", []string{"b@example.org"}, []string{"secret@example.net"}, testDate
			m, out := compose(t, s)
			checkWire(t, out, false)
			if bytes.Contains(out, []byte("secret@example.net")) {
				t.Error("Bcc address appears in the message")
			}
			if got := m.Size(); got != int64(len(out)) {
				t.Errorf("Size() = %d, WriteTo wrote %d", got, len(out))
			}
			// Reader gives the same bytes.
			rc := m.Reader()
			viaReader, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(viaReader, out) {
				t.Errorf("Reader() differs from WriteTo (err %v)", err)
			}
			// A second write gives the same bytes.
			var again bytes.Buffer
			if _, err := m.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), out) {
				t.Errorf("second WriteTo differs (err %v)", err)
			}

			e, err := gomessage.Read(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if rt, _, _ := e.Header.ContentType(); rt != tt.root {
				t.Errorf("root type %q, want %q", rt, tt.root)
			}
			var got []leaf
			err = e.Walk(func(path []int, ent *gomessage.Entity, err error) error {
				if err != nil {
					return err
				}
				ct, _, _ := ent.Header.ContentType()
				if strings.HasPrefix(ct, "multipart/") {
					return nil
				}
				body, err := io.ReadAll(ent.Body)
				if err != nil {
					return err
				}
				l := leaf{ctype: ct, cte: ent.Header.Get("Content-Transfer-Encoding"), body: string(body)}
				if d, params, err := ent.Header.ContentDisposition(); err == nil {
					l.disp, l.filename = d, params["filename"]
				}
				got = append(got, l)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.parts) {
				t.Fatalf("got %d leaf parts, want %d: %+v", len(got), len(tt.parts), got)
			}
			for i := range got {
				g, w := got[i], tt.parts[i]
				if g.ctype != w.ctype || g.cte != w.cte || g.disp != w.disp || g.filename != w.filename {
					t.Errorf("part %d = {%s %s %s %q}, want {%s %s %s %q}", i, g.ctype, g.cte, g.disp, g.filename, w.ctype, w.cte, w.disp, w.filename)
				}
				if g.body != w.body {
					t.Errorf("part %d body differs: got %d bytes %q..., want %d bytes", i, len(g.body), truncate(g.body, 40), len(w.body))
				}
			}
		})
	}
}

// TestEnvelope checks the envelope: bare addresses, Bcc included, order
// kept, duplicates (domain case ignored) removed, SMTPUTF8 when an address
// is not ASCII.
func TestEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		from     string
		to       []string
		smtputf8 bool
	}{
		{"to cc bcc", Spec{From: "Ann <ann@example.com>", To: []string{"Bob <bob@example.org>"}, Cc: []string{"c@example.org"}, Bcc: []string{"d@example.org"}},
			"ann@example.com", []string{"bob@example.org", "c@example.org", "d@example.org"}, false},
		{"duplicates", Spec{From: "a@example.com", To: []string{"x@example.org, X <x@EXAMPLE.org>"}, Cc: []string{"x@example.org"}, Bcc: []string{"X@example.org"}},
			"a@example.com", []string{"x@example.org", "X@example.org"}, false},
		{"utf-8 local part", Spec{From: "a@example.com", To: []string{"jörg@example.org"}},
			"a@example.com", []string{"jörg@example.org"}, true},
		{"utf-8 sender", Spec{From: "用户@例子.广告", Bcc: []string{"b@example.org"}},
			"用户@例子.广告", []string{"b@example.org"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out := compose(t, tt.spec)
			env := m.Envelope()
			if env.From != tt.from || strings.Join(env.To, " ") != strings.Join(tt.to, " ") {
				t.Errorf("Envelope = %+v, want From %q To %q", env, tt.from, tt.to)
			}
			if got := m.Requirements().SMTPUTF8; got != tt.smtputf8 {
				t.Errorf("SMTPUTF8 = %v, want %v", got, tt.smtputf8)
			}
			checkWire(t, out, tt.smtputf8)
		})
	}
}

// patternReader yields n deterministic pseudo-random bytes without holding
// them.
type patternReader struct {
	n, off int64
	x      uint32
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if rem := r.n - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		r.x = r.x*1664525 + 1013904223
		p[i] = byte(r.x >> 24)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func (r *patternReader) Close() error { return nil }

// TestLargeAttachmentStreams writes a 50 MB attachment generated on the fly
// and checks that memory allocated while writing stays far below the
// attachment size, that Size is exact without reading, and that the
// decoded attachment equals the source.
func TestLargeAttachmentStreams(t *testing.T) {
	size := int64(50 << 20)
	if testing.Short() {
		size = 5 << 20
	}
	open := func() (io.ReadCloser, error) { return &patternReader{n: size}, nil }
	m, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Text: "big one",
		Attachments: []Attachment{{Open: open, Name: "big.bin", Size: size}}})
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	io.Copy(want, &patternReader{n: size})

	// Pass 1: write to a counter and measure allocation.
	var before, after runtimeStats
	before.read()
	var cw countWriter
	n, err := m.WriteTo(&cw)
	after.read()
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.totalAlloc - before.totalAlloc
	t.Logf("wrote %d bytes, allocated %d bytes", n, alloc)
	if alloc > 4<<20 {
		t.Errorf("writing a %d MB attachment allocated %d bytes; streaming must not depend on the size", size>>20, alloc)
	}
	if got := m.Size(); got != n {
		t.Errorf("Size() = %d, WriteTo wrote %d", got, n)
	}

	// Pass 2: parse the stream and compare the decoded attachment.
	rc := m.Reader()
	defer rc.Close()
	mr, err := mail.CreateReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := ah.Filename()
			h := sha256.New()
			k, err := io.Copy(h, p.Body)
			if err != nil {
				t.Fatal(err)
			}
			if name != "big.bin" || k != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Errorf("attachment %q: %d bytes, hash match %v; want big.bin, %d bytes, equal", name, k, bytes.Equal(h.Sum(nil), want.Sum(nil)), size)
			}
			found = true
		}
	}
	if !found {
		t.Error("no attachment found")
	}
}

// TestSourceErrors checks that a file that disappears or a failing reader
// is reported as *SourceError, and Size becomes unknown.
func TestSourceErrors(t *testing.T) {
	p := writeFile(t, "gone.pdf", []byte("data"))
	m, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Attachments: []Attachment{{Path: p}}})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	var se *SourceError
	if _, err := m.WriteTo(io.Discard); !errors.As(err, &se) || se.Source != p {
		t.Errorf("WriteTo after removal = %v, want *SourceError for %s", err, p)
	}
	if got := m.Size(); got != -1 {
		t.Errorf("Size() = %d after removal, want -1", got)
	}

	boom := errors.New("disk on fire")
	calls := 0
	m, err = Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Attachments: []Attachment{{
		Name: "x.bin",
		Open: func() (io.ReadCloser, error) {
			calls++
			return io.NopCloser(io.MultiReader(strings.NewReader("partial"), &errReader{boom})), nil
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteTo(io.Discard); !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Errorf("WriteTo = %v, want *SourceError wrapping %v", err, boom)
	}
	rc := m.Reader()
	if _, err := io.ReadAll(rc); !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Errorf("reading Reader() = %v, want *SourceError wrapping %v", err, boom)
	}
	rc.Close()
	if got := m.Size(); got != -1 {
		t.Errorf("Size() with Open and no Size = %d, want -1", got)
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }
