package downgrade

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fields splits a header block into unfolded "Name: value" fields.
func fields(t *testing.T, hdr []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	s := strings.SplitN(string(hdr), "\r\n\r\n", 2)[0]
	s = strings.ReplaceAll(s, "\r\n ", " ")
	s = strings.ReplaceAll(s, "\r\n\t", "\t")
	for _, l := range strings.Split(s, "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("not a field: %q", l)
		}
		out[strings.ToLower(name)] = strings.TrimLeft(value, " ")
	}
	return out
}

var encodedWord = regexp.MustCompile(`=\?[^? ]+\?[qQbB]\?[^? ]*\?=`)

// checkShape checks what RFC 5322 and RFC 2047 ask of the output: 7-bit,
// CRLF lines of at most 998 characters, encoded-words of at most 75.
func checkShape(t *testing.T, out []byte) {
	t.Helper()
	for i, c := range out {
		if c >= 0x80 {
			t.Fatalf("byte %d of the output is %#x: not 7-bit\n%s", i, c, out)
		}
	}
	for _, l := range strings.Split(string(out), "\r\n") {
		if len(l) > MaxLine {
			t.Errorf("line of %d characters (max %d): %.60q...", len(l), MaxLine, l)
		}
		if strings.Contains(l, "\n") || strings.Contains(l, "\r") {
			t.Errorf("bare line end in %q", l)
		}
		if l != "" && strings.Trim(l, " \t") == "" {
			t.Errorf("a folded line holds only white space")
		}
		for _, w := range encodedWord.FindAllString(l, -1) {
			if len(w) > 75 {
				t.Errorf("encoded-word of %d characters (max 75): %s", len(w), w)
			}
		}
	}
}

func TestHeaderUnstructured(t *testing.T) {
	long := strings.Repeat("Grüße aus Köln, 東京タワー ", 60) // folds many times
	tests := []struct{ name, subject string }{
		{"latin", "Grüße aus Köln"},
		{"prefix kept", "Re: Grüße"},
		{"cjk", "会議の議事録"},
		{"emoji and tabs", "build \t✅ passed"},
		{"long", strings.TrimSpace(long)},
	}
	dec := new(mime.WordDecoder)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "From: a@example.org\r\nSubject: " + tt.subject + "\r\nX-Note: Café\r\n\r\n"
			out, err := Header([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			checkShape(t, out)
			f := fields(t, out)
			if f["from"] != "a@example.org" {
				t.Errorf("ASCII field changed: %q", f["from"])
			}
			for name, want := range map[string]string{"subject": tt.subject, "x-note": "Café"} {
				got, err := dec.DecodeHeader(f[name])
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got != want {
					t.Errorf("%s decodes to\n%q, want\n%q", name, got, want)
				}
			}
			if !strings.HasSuffix(string(out), "\r\n\r\n") {
				t.Errorf("the empty line after the header is lost")
			}
		})
	}
}

func TestHeaderAddresses(t *testing.T) {
	in := "From: Jörg Müller <joerg@example.org>\r\n" +
		"To: \"Smith, J\" <s@example.org>, Zoë <zoe@example.org>,\r\n  用户 <用户@例子.广告>\r\n" +
		"Cc: x@example.org, Ärzte: a@example.org, Zoë <b@example.org>;, Leer:;\r\n" +
		"\r\n"
	out, err := Header([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, out)
	f := fields(t, out)
	from, err := mail.ParseAddress(f["from"])
	if err != nil {
		t.Fatal(err)
	}
	if from.Name != "Jörg Müller" || from.Address != "joerg@example.org" {
		t.Errorf("From = %q <%s>", from.Name, from.Address)
	}
	// The non-ASCII mailbox becomes an empty group (RFC 6857 section 3):
	// its address is not taken for a recipient.
	to, err := mail.ParseAddressList(f["to"])
	if err != nil {
		t.Fatalf("To %q: %v", f["to"], err)
	}
	if len(to) != 2 || to[0].Name != "Smith, J" || to[1].Name != "Zoë" || to[1].Address != "zoe@example.org" {
		t.Errorf("To = %v", to)
	}
	grp := f["to"][strings.LastIndex(f["to"], ",")+1:]
	if !strings.HasSuffix(grp, ":;") {
		t.Errorf("the non-ASCII mailbox is not an empty group: %q", grp)
	}
	name, err := new(mime.WordDecoder).DecodeHeader(strings.TrimSuffix(strings.TrimSpace(grp), ":;"))
	if err != nil || strings.TrimSpace(name) != "用户 <用户@例子.广告>" {
		t.Errorf("group name decodes to %q (%v)", name, err)
	}
	// A group keeps its members; its display name is encoded.
	cc, err := mail.ParseAddressList(f["cc"])
	if err != nil || len(cc) != 3 || cc[2].Name != "Zoë" {
		t.Errorf("Cc %q: %v %v", f["cc"], cc, err)
	}
	if !strings.Contains(f["cc"], "?=: <a@example.org>") || !strings.HasSuffix(f["cc"], ">;, Leer:;") {
		t.Errorf("Cc group name not encoded as a phrase: %q", f["cc"])
	}
}

func TestHeaderMIMEAndIDs(t *testing.T) {
	in := "Content-Type: text/plain; charset=utf-8; name=\"résumé.txt\"\r\n" +
		"Content-Disposition: attachment; filename=\"résumé.txt\"\r\n" +
		"Message-ID: <ü@example.org>\r\n" +
		"\r\n"
	out, err := Header([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, out)
	f := fields(t, out)
	_, p, err := mime.ParseMediaType(f["content-disposition"])
	if err != nil || p["filename"] != "résumé.txt" {
		t.Errorf("Content-Disposition %q: %v %v", f["content-disposition"], p, err)
	}
	_, p, err = mime.ParseMediaType(f["content-type"])
	if err != nil || p["name"] != "résumé.txt" || p["charset"] != "utf-8" {
		t.Errorf("Content-Type %q: %v %v", f["content-type"], p, err)
	}
	if _, ok := f["message-id"]; ok {
		t.Errorf("a non-ASCII Message-ID is kept under its name")
	}
	if got, _ := new(mime.WordDecoder).DecodeHeader(f["downgraded-message-id"]); got != "<ü@example.org>" {
		t.Errorf("Downgraded-Message-ID decodes to %q", got)
	}
}

func TestHeaderNotUTF8(t *testing.T) {
	out, err := Header([]byte("Subject: caf\xe9\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, out)
	if !strings.Contains(string(out), "=?unknown-8bit?") {
		t.Errorf("Latin-1 bytes not labelled unknown-8bit: %q", out)
	}
}

func TestHeaderLongWord(t *testing.T) {
	// An ASCII word too long for any line, in a field that must be
	// rewritten: refused, not sent with a line over 998.
	_, err := Header([]byte("Subject: é " + strings.Repeat("x", 1200) + "\r\n\r\n"))
	var e *Error
	if !errors.As(err, &e) || e.Field != "Subject" {
		t.Fatalf("err = %v, want *Error for Subject", err)
	}
}

// TestReaderStreamsBody checks that only the header is rewritten: the body
// (8-bit here, and large) comes through byte for byte, LF lines included.
func TestReaderStreamsBody(t *testing.T) {
	body := strings.Repeat("Zeile mit Umlauten: äöü\n", 100000)
	in := "Subject: Grüße\nFrom: a@example.org\n\n" + body
	r, st, err := Reader(strings.NewReader(in), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)-len(in)) != st.Grew {
		t.Errorf("Reader says the header grew by %d bytes; it grew by %d", st.Grew, len(got)-len(in))
	}
	hdr, rest, ok := bytes.Cut(got, []byte("\n\n"))
	if !ok || string(rest) != body {
		t.Fatalf("the body changed (%d bytes, want %d)", len(rest), len(body))
	}
	if s, _ := new(mime.WordDecoder).DecodeHeader(strings.TrimPrefix(strings.Split(string(hdr), "\r\n")[0], "Subject: ")); s != "Grüße" {
		t.Errorf("Subject decodes to %q", s)
	}
}

func TestReaderBounded(t *testing.T) {
	// A header that never ends is refused at the limit.
	r := io.MultiReader(strings.NewReader("Subject: ü\r\n"), neverEnding{})
	_, _, err := Reader(r, 64<<10)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
		if i%70 == 69 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

// TestHeaderMIMEUnquotedParams: a parameter value with raw UTF-8 and no
// quotes (or parameters with no space after the ";") does not parse as
// RFC 2045 says; the rest of the field must still keep its meaning. The
// media type, the charset and the boundary are kept as they were and only
// the non-ASCII value becomes an RFC 2231 extended value: encoding the
// whole value as one encoded-word would lose the charset, and the
// boundary of a multipart message, and with it every part.
func TestHeaderMIMEUnquotedParams(t *testing.T) {
	for _, tt := range []struct {
		in, field, mt string
		want          map[string]string
	}{
		{"Content-Type: multipart/mixed;boundary=abc;name=é\r\n", "content-type", "multipart/mixed",
			map[string]string{"boundary": "abc", "name": "é"}},
		{"Content-Type: text/plain; charset=utf-8;name=résumé.txt\r\n", "content-type", "text/plain",
			map[string]string{"charset": "utf-8", "name": "résumé.txt"}},
		{"Content-Disposition: attachment; filename=résumé.pdf\r\n", "content-disposition", "attachment",
			map[string]string{"filename": "résumé.pdf"}},
		{"Content-Type: text/plain; charset=\"utf-8\"; name=\"a \\\"q\\\" é\";x=y\r\n", "content-type", "text/plain",
			map[string]string{"charset": "utf-8", "name": "a \"q\" é", "x": "y"}},
	} {
		out, err := Header([]byte(tt.in + "\r\n"))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		checkShape(t, out)
		f := fields(t, out)
		mt, p, err := mime.ParseMediaType(f[tt.field])
		if err != nil || mt != tt.mt || !maps.Equal(p, tt.want) {
			t.Errorf("%q became %q: %s %v %v, want %s %v", tt.in, f[tt.field], mt, p, err, tt.mt, tt.want)
		}
	}
}

// TestHeaderBesideEncodedWords: an encoded-word already in the text next
// to a word that is now encoded: the white space between two
// encoded-words is dropped by decoders (RFC 2047 section 6.2), so the
// space that separated them must travel inside the new encoded-word, or
// "café crème" is read "cafécrème".
func TestHeaderBesideEncodedWords(t *testing.T) {
	for _, in := range []string{
		"=?UTF-8?q?caf=C3=A9?= crème",
		"crème =?UTF-8?q?caf=C3=A9?=",
		"a =?UTF-8?q?caf=C3=A9?=  crème \t=?UTF-8?b?w6k=?= b",
	} {
		out, err := Header([]byte("Subject: " + in + "\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, out)
		d := new(mime.WordDecoder)
		want, _ := d.DecodeHeader(in)
		if got, err := d.DecodeHeader(fields(t, out)["subject"]); err != nil || got != want {
			t.Errorf("%q became %q, which reads %q (%v), want %q", in, out, got, err, want)
		}
	}
}

// TestHeaderLinearCost: the largest header the SMTP client reads to
// downgrade (2 MiB) in the shapes that made the rewrite quadratic (an
// address list of many groups, a field that is one long run of non-ASCII
// words) is rewritten in well under a minute, and rightly; before, the
// groups took about an hour of CPU, holding the sender and its queue.
// The bound is only there so that a regression fails instead of hanging.
func TestHeaderLinearCost(t *testing.T) {
	const n = 2 << 20 / 4
	for name, tc := range map[string]struct {
		in     string
		count  string
		counts int
	}{
		"groups": {"To: " + strings.Repeat("é:;", n) + "\r\n\r\n", ":;", n},
		"run":    {"Subject: é\r\n" + strings.Repeat(" é\r\n", n) + "\r\n", "?=", 0},
	} {
		done := make(chan []byte, 1)
		go func() {
			out, err := Header([]byte(tc.in))
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			done <- out
		}()
		select {
		case out := <-done:
			if out == nil {
				continue
			}
			checkShape(t, out)
			if got := strings.Count(string(out), tc.count); tc.counts > 0 && got != tc.counts {
				t.Errorf("%s: %d groups in the output, want %d", name, got, tc.counts)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: Header of %d bytes still running after a minute", name, len(tc.in))
		}
	}
}

// TestReaderBrokenDKIM: a DKIM-Signature whose h= tag lists a field the
// downgrade rewrites is named in Stats.BrokenDKIM (the SMTP client notes
// it in the transcript); one that signs only ASCII fields is not.
func TestReaderBrokenDKIM(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\r\n\th=From : To:\r\n subject; bh=x; b=y\r\nFrom: a@example.org\r\nSubject: Grüße\r\n\r\nbody\r\n", []string{"subject"}},
		{"dkim-signature: v=1; h=from:to; b=y\r\nSubject: Grüße\r\n\r\n", nil},
		{"Subject: Grüße\r\n\r\n", nil},
	} {
		_, st, err := Reader(strings.NewReader(tc.in), 1<<20)
		if err != nil || !slices.Equal(st.BrokenDKIM, tc.want) {
			t.Errorf("%q: BrokenDKIM %q (%v), want %q", tc.in, st.BrokenDKIM, err, tc.want)
		}
	}
}

// TestHeaderAddressListPartlyUnparsable: an address list net/mail cannot
// parse as a whole (an encoded-word in a charset it does not know, as a
// reply copies from Russian or Japanese mail; a stray unquoted comma)
// keeps the addresses of the mailboxes it can: before, the whole field
// became the display name of one empty group, and replies lost every
// address in it.
func TestHeaderAddressListPartlyUnparsable(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // substrings of the output field
	}{
		{"To: =?koi8-r?q?=F0=F2?= <a@b.org>, Jö <c@d.org>", []string{"=?koi8-r?q?=F0=F2?= <a@b.org>,", "=?utf-8?q?J=C3=B6?= <c@d.org>"}},
		{"Cc: Müller, Hans <h@x.org>, Zoë <z@x.org>", []string{"Hans <h@x.org>,", "=?utf-8?q?Zo=C3=AB?= <z@x.org>"}},
	} {
		out, err := Header([]byte(tc.in + "\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, out)
		got := strings.ReplaceAll(string(out), "\r\n ", " ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q became %q, without %q", tc.in, got, w)
			}
		}
	}
}

// TestHeaderLongParamContinuations: a file name of a few hundred
// non-ASCII characters percent-encodes to more than 998 bytes (six per
// "é"), past RFC 5322's line limit, unless it is cut into RFC 2231
// continuations (sections 3 and 4: name*0*=, name*1*=, …) that fold onto
// lines of their own. Quoted and unquoted (mimeParams) values, and a long
// ASCII value in a field that is rewritten, all come back whole through
// mime.ParseMediaType, which joins continuations, in lines of at most 78.
func TestHeaderLongParamContinuations(t *testing.T) {
	long := strings.Repeat("é", 340) + " \"rapport\" ü.pdf"
	ascii := strings.Repeat("a-long-ascii-name ", 60) + "end.txt"
	for _, tt := range []struct {
		in, field, mt string
		want          map[string]string
	}{
		{"Content-Disposition: attachment; filename=\"" + strings.ReplaceAll(long, `"`, `\"`) + "\"\r\n",
			"content-disposition", "attachment", map[string]string{"filename": long}},
		{"Content-Disposition: attachment; filename=" + strings.Repeat("é", 400) + ".pdf\r\n",
			"content-disposition", "attachment", map[string]string{"filename": strings.Repeat("é", 400) + ".pdf"}},
		{"Content-Type: text/plain; charset=utf-8; name=\"" + ascii + "\"; x-note=\"ü\"\r\n",
			"content-type", "text/plain", map[string]string{"charset": "utf-8", "name": ascii, "x-note": "ü"}},
	} {
		out, err := Header([]byte(tt.in + "\r\n"))
		if err != nil {
			t.Errorf("%.60q: %v", tt.in, err)
			continue
		}
		checkShape(t, out)
		for _, l := range strings.Split(string(out), "\r\n") {
			if len(l) > foldAt {
				t.Errorf("line of %d characters, want at most %d: %q", len(l), foldAt, l)
			}
		}
		f := fields(t, out)
		if !strings.Contains(f[tt.field], "*1") {
			t.Errorf("no continuation in %.200q", f[tt.field])
		}
		mt, p, err := mime.ParseMediaType(f[tt.field])
		if err != nil || mt != tt.mt || !maps.Equal(p, tt.want) {
			t.Errorf("%.60q became %.200q: %s %v %v, want %s %v", tt.in, f[tt.field], mt, p, err, tt.mt, tt.want)
		}
	}
}
