package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// fuzzMaxHeader is the header limit FuzzPrepare sets, small enough for the
// fuzzer to reach.
const fuzzMaxHeader = 4096

// FuzzPrepare: whatever arrives on sendmail's standard input, Prepare
// either fails with an *InputError that says what to fix, or returns a
// message whose output keeps Prepare's documented promises, checked against
// a reading of the input done here, independently of readHeader:
//
//   - the output has no bare CR and no bare LF (RFC 5321 section 2.3.8);
//   - its header is the input's fields, in order and byte for byte once
//     their line ends are CRLF, without Bcc and Resent-Bcc, followed by
//     From, Date and Message-ID for those the input lacks, then the blank
//     line; each header line within the line limit and the section within
//     PrepareOptions.MaxHeaderBytes (plus the CRs added and the added
//     fields);
//   - its body is the input's body with every bare CR and LF made CRLF
//     (refCRLF, the simple reference), and there is a body exactly when the
//     input had a blank line after its header;
//   - the envelope has a sender and recipients (the given one when not
//     extracting);
//   - the message is written once: a second WriteTo is UsedError.
func FuzzPrepare(f *testing.F) {
	f.Add([]byte("From: a@example.com\r\nTo: b@example.org, \"C\" <c@example.org>\r\nBcc: d@example.org\r\nSubject: =?utf-8?q?h=C3=A9?=\r\n\r\nbody\r\n"), true)
	f.Add([]byte("Resent-To: x@example.org\nResent-Bcc: y@example.org\nTo: z@example.org\n\n.\n"), true)
	f.Add([]byte("Bcc:\r\n\tfolded@example.org\r\nX: \xff\xfe\r\n\r\n"), false)
	f.Add([]byte("From: a@example.com\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <1@example.com>\r\nTo: b@example.org\r\n\r\nbare\rCR and bare\nLF\r\n"), true)
	f.Add([]byte("Subject: no blank line, no body\r\nBCC : hidden@example.org"), false)
	f.Add([]byte(""), false)
	f.Add([]byte("X-A: "+strings.Repeat("a", 2500)+"\r\nX-B: "+strings.Repeat("b", 2500)+"\r\nTo: b@example.org\r\n\r\n"), true) // over the header limit
	f.Fuzz(func(t *testing.T, data []byte, extract bool) {
		opts := PrepareOptions{From: "sender@example.com", ExtractRecipients: extract, MaxHeaderBytes: fuzzMaxHeader}
		if !extract {
			opts.Recipients = []string{"r@example.org"}
		}
		m, err := Prepare(bytes.NewReader(data), opts)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error of type %T, want *InputError: %v", err, err)
			}
			if ie.Field == "" || ie.Problem == "" || ie.Fix == "" {
				t.Fatalf("InputError without field, problem or fix: %#v", ie)
			}
			return
		}

		var out bytes.Buffer
		n, err := m.WriteTo(&out)
		if err != nil || n != int64(out.Len()) {
			t.Fatalf("WriteTo = %d, %v; %d bytes written", n, err, out.Len())
		}
		if _, err := m.WriteTo(io.Discard); !errors.As(err, new(UsedError)) {
			t.Errorf("second WriteTo: %v, want UsedError", err)
		}
		got := out.Bytes()
		if i := bareLineEnd(got); i >= 0 {
			t.Fatalf("bare CR or LF at byte %d of the output: %q", i, got[max(0, i-20):min(len(got), i+20)])
		}

		env := m.Envelope()
		if env.From == "" || len(env.To) == 0 {
			t.Errorf("envelope %+v: no sender or no recipients", env)
		}
		if !extract && (len(env.To) != 1 || env.To[0] != "r@example.org") {
			t.Errorf("recipients %q, want only the given r@example.org", env.To)
		}

		// The reference reading of the input.
		fields, body, hasBody := refSplitMessage(data)
		var want []byte
		present := map[string]bool{}
		for _, fl := range fields {
			name := refFieldName(fl)
			present[name] = true
			if name == "bcc" || name == "resent-bcc" {
				continue
			}
			want = append(want, fl...)
		}
		if !bytes.HasPrefix(got, want) {
			t.Fatalf("the output header does not start with the input's fields (Bcc removed):\n got %q\nwant %q", truncate(string(got), 300), truncate(string(want), 300))
		}
		rest := got[len(want):]
		blank := bytes.Index(rest, []byte("\r\n\r\n"))
		var added []byte
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			// nothing added: rest starts with the blank line
		case blank >= 0:
			added, rest = rest[:blank+2], rest[blank+2:]
		default:
			t.Fatalf("no blank line after the header: %q", truncate(string(rest), 200))
		}
		var wantAdded []string
		for _, name := range []string{"From", "Date", "Message-ID"} {
			if !present[strings.ToLower(name)] {
				wantAdded = append(wantAdded, name)
			}
		}
		var gotAdded []string
		for _, fl := range refFields(added) {
			gotAdded = append(gotAdded, string(fl[:max(0, bytes.IndexByte(fl, ':'))]))
		}
		if !strings.EqualFold(strings.Join(gotAdded, ","), strings.Join(wantAdded, ",")) { // field names are case-insensitive (go-message writes Message-Id)
			t.Errorf("fields added %q, want %q (the ones the input lacks)", gotAdded, wantAdded)
		}
		header := got[:len(got)-len(rest)]
		for _, line := range bytes.SplitAfter(header, []byte("\r\n")) {
			if len(line) > maxPreparedLine+2 {
				t.Errorf("a header line of %d bytes", len(line))
			}
		}
		if kept, lines := len(want), bytes.Count(want, []byte("\n")); kept > fuzzMaxHeader+lines {
			t.Errorf("%d header bytes kept from the input (%d lines), over the limit of %d", kept, lines, fuzzMaxHeader)
		}
		for _, fl := range refFields(header) {
			if name := refFieldName(fl); name == "bcc" || name == "resent-bcc" {
				t.Errorf("a %s field in the output: %q", name, fl)
			}
		}

		rest = rest[2:] // the blank line
		wantBody := ""
		if hasBody {
			wantBody, _ = refCRLF(body)
		}
		if string(rest) != wantBody {
			t.Errorf("body differs from the input's with CRLF line ends:\n got %q\nwant %q", truncate(string(rest), 200), truncate(wantBody, 200))
		}
	})
}

// bareLineEnd returns the index of the first CR not followed by LF or LF
// not preceded by CR in b, or -1.
func bareLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') || c == '\n' && (i == 0 || b[i-1] != '\r') {
			return i
		}
	}
	return -1
}

// refSplitMessage reads data as RFC 5322 section 2.1 says: header lines
// (LF, CRLF, or the end of the input ending each; one CR before the LF is
// part of the line end) up to the first empty line. It returns the header
// fields, each with its continuation lines, with CRLF line ends; the body
// after the empty line; and whether there was one.
func refSplitMessage(data []byte) (fields [][]byte, body []byte, hasBody bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return fields, data, true
		}
		crlf := append(append([]byte{}, line...), '\r', '\n')
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] = append(fields[len(fields)-1], crlf...)
		} else {
			fields = append(fields, crlf)
		}
	}
	return fields, nil, false
}

// refFields splits a CRLF header section (without its blank line) into
// fields with their continuation lines.
func refFields(h []byte) [][]byte {
	var fs [][]byte
	for _, line := range bytes.SplitAfter(h, []byte("\r\n")) {
		switch {
		case len(line) == 0 || string(line) == "\r\n":
		case (line[0] == ' ' || line[0] == '\t') && len(fs) > 0:
			fs[len(fs)-1] = append(fs[len(fs)-1], line...)
		default:
			fs = append(fs, append([]byte{}, line...))
		}
	}
	return fs
}

// refFieldName is a field's name, lower case, blanks before the colon
// removed ("BCC :" is bcc).
func refFieldName(field []byte) string {
	i := bytes.IndexByte(field, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimRight(string(field[:i]), " \t"))
}
