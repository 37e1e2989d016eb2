package trust

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzMax is the body limit the fuzz targets parse under.
const fuzzMax = 4096

// parsed is everything the response parser says about one input.
type parsed struct {
	code   int
	status string
	header map[string]string
	body   []byte
	err    string
}

// parseResponse runs the built-in client's response parser (head, then the
// body of a 200) over whatever r yields.
func parseResponse(r io.Reader) parsed {
	br := bufio.NewReaderSize(r, maxLine)
	resp, err := readResponseHead(br)
	if err != nil {
		return parsed{err: err.Error()}
	}
	p := parsed{code: resp.code, status: resp.status, header: resp.header}
	if resp.code == 200 {
		p.body, err = readBody(br, resp, fuzzMax)
		if err != nil {
			p.body, p.err = nil, err.Error()
		}
	}
	return p
}

// FuzzHTTPResponse feeds arbitrary bytes to the response parser. Beyond not
// panicking: the body never exceeds the limit; how the bytes arrive (all at
// once, one at a time, in halves) changes nothing; a Content-Length body
// has exactly that length; an unchunked body is a contiguous piece of the
// input; a status is three digits and header fields are lower-case tokens
// with values free of line breaks.
func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2, 2\n\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nX: a\r\n b\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := parseResponse(bytes.NewReader(data))
		for name, r := range map[string]io.Reader{
			"one byte at a time": iotest.OneByteReader(bytes.NewReader(data)),
			"in halves":          iotest.HalfReader(bytes.NewReader(data)),
		} {
			if got := parseResponse(r); fmt.Sprint(got) != fmt.Sprint(whole) {
				t.Fatalf("read %s: %+v\nread whole: %+v", name, got, whole)
			}
		}
		if len(whole.body) > fuzzMax {
			t.Fatalf("body of %d bytes, limit %d", len(whole.body), fuzzMax)
		}
		if whole.err != "" {
			if whole.body != nil {
				t.Fatalf("an error (%s) with a body", whole.err)
			}
			return
		}
		if whole.code < 100 || whole.code > 999 || !strings.HasPrefix(whole.status, strconv.Itoa(whole.code)) {
			t.Fatalf("status %d %q", whole.code, whole.status)
		}
		for k, v := range whole.header {
			if k == "" || k != strings.ToLower(k) || strings.ContainsAny(k, " \t:\r\n") || strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("header field %q: %q", k, v)
			}
		}
		if whole.code != 200 {
			return
		}
		if _, chunked := whole.header["transfer-encoding"]; !chunked {
			if !bytes.Contains(data, whole.body) {
				t.Fatalf("unchunked body %q is not a piece of the input", whole.body)
			}
			if cl, ok := whole.header["content-length"]; ok {
				n, _ := parseContentLength(cl)
				if int64(len(whole.body)) != n {
					t.Fatalf("Content-Length %s, body %d bytes", cl, len(whole.body))
				}
			}
		}
	})
}

// FuzzHTTPBodyRoundTrip frames a body as a server may (chunks of any sizes
// with extensions, upper- or lower-case hex, trailers; or Content-Length;
// or until close) and checks that the parser gives back exactly that body,
// or, when it is over the limit, says "larger than".
func FuzzHTTPBodyRoundTrip(f *testing.F) {
	f.Add([]byte("hello world"), []byte{3, 1, 200}, "ext=1", byte(0))
	f.Add([]byte(""), []byte{}, "", byte(1))
	f.Add(bytes.Repeat([]byte("x"), fuzzMax+1), []byte{255}, "", byte(0))
	f.Add([]byte("a\r\n0\r\n\r\n"), []byte{1}, "a=\"b\"", byte(2))
	f.Fuzz(func(t *testing.T, body, splits []byte, ext string, mode byte) {
		roundTripCheck(t, body, splits, ext, mode)
	})
}

func roundTripCheck(t *testing.T, body, splits []byte, ext string, mode byte) parsed {
	{
		if len(ext) > 8 || strings.ContainsAny(ext, "\r\n") {
			ext = "e"
		}
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\n")
		switch mode % 3 {
		case 0: // chunked
			b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			rest := body
			for i := 0; len(rest) > 0; i++ {
				n := len(rest)
				if len(splits) > 0 {
					n = min(n, int(splits[i%len(splits)])+1)
				}
				size := strconv.FormatInt(int64(n), 16)
				if i%2 == 1 {
					size = strings.ToUpper(size)
				}
				if ext != "" && i%3 == 0 {
					size += ";" + ext
				}
				b.WriteString(size + "\r\n")
				b.Write(rest[:n])
				b.WriteString("\r\n")
				rest = rest[n:]
			}
			b.WriteString("0\r\nTrailer-Field: 1\r\n\r\n")
		case 1: // Content-Length, with bytes after the body that are not read
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
			b.WriteString("HTTP/1.1 400 Junk after the body\r\n")
		case 2: // until close
			b.WriteString("\r\n")
			b.Write(body)
		}
		got := parseResponse(strings.NewReader(b.String()))
		if len(body) > fuzzMax {
			if !strings.Contains(got.err, "larger than") {
				t.Fatalf("a %d-byte body (limit %d): %+v", len(body), fuzzMax, got)
			}
			return got
		}
		if got.err != "" || !bytes.Equal(got.body, body) {
			t.Fatalf("framed %q\nparsed %+v", b.String(), got)
		}
		return got
	}
}
