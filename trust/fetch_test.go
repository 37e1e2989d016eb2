package trust

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// seenRequest is a request as a test server read it off the wire.
type seenRequest struct {
	line   string            // "GET /crl HTTP/1.1"
	header map[string]string // lower-case names
	body   []byte
}

// rawHTTP is a loopback server written with raw sockets, so that tests can
// answer with exactly the bytes they want, broken ones included. respond
// writes the answer; the connection closes when it returns.
type rawHTTP struct {
	URL string // http://127.0.0.1:PORT
	ln  net.Listener

	mu   sync.Mutex
	reqs []*seenRequest
	done chan struct{}
	wg   sync.WaitGroup
}

func newRawHTTP(t *testing.T, respond func(c net.Conn, r *seenRequest)) *rawHTTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawHTTP{URL: "http://" + ln.Addr().String(), ln: ln, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				// Close the connection when the test ends, even if respond stalls.
				stop := context.AfterFunc(ctxOf(s.done), func() { c.Close() })
				defer stop()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				r, err := readSeenRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				s.mu.Lock()
				s.reqs = append(s.reqs, r)
				s.mu.Unlock()
				respond(c, r)
			}()
		}
	}()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// ctxOf is a context cancelled when done closes.
func ctxOf(done chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-done; cancel() }()
	return ctx
}

func (s *rawHTTP) requests() []*seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*seenRequest(nil), s.reqs...)
}

func readSeenRequest(br *bufio.Reader) (*seenRequest, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	r := &seenRequest{line: strings.TrimRight(line, "\r\n"), header: map[string]string{}}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		r.header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	if cl := r.header["content-length"]; cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil {
			return nil, err
		}
		r.body = make([]byte, n)
		if _, err := io.ReadFull(br, r.body); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// reply writes a fixed answer.
func reply(s string) func(net.Conn, *seenRequest) {
	return func(c net.Conn, _ *seenRequest) { io.WriteString(c, s) }
}

// stall holds the connection open without a word after writing prefix,
// until the test ends.
func stall(prefix string) func(net.Conn, *seenRequest) {
	return func(c net.Conn, _ *seenRequest) {
		io.WriteString(c, prefix)
		io.Copy(io.Discard, c) // returns when the client or the cleanup closes
	}
}

func noEnv(string) string { return "" }

func TestFetchResponses(t *testing.T) {
	const max = 64
	big := strings.Repeat("x", max+1)
	tests := []struct {
		name    string
		respond func(net.Conn, *seenRequest)
		want    string // body on success
		err     string // substring of the error, "" for success
	}{
		{"content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), "hello", ""},
		{"content-length, extra bytes ignored", reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello"), "he", ""},
		{"repeated equal content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello"), "hello", ""},
		{"chunked", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: y\r\n\r\n"), "hello world!", ""},
		{"chunked upper-case hex", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"), "0123456789", ""},
		{"chunked wins over content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), "ok", ""},
		{"close-delimited", reply("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\nuntil close"), "until close", ""},
		{"HTTP/1.0 close-delimited", reply("HTTP/1.0 200 OK\r\n\r\nold"), "old", ""},
		{"bare LF lines", reply("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), "ok", ""},
		{"no reason phrase", reply("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"), "ok", ""},
		{"interim 100 skipped", reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), "ok", ""},
		{"empty body", reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), "", ""},
		{"exactly max", reply("HTTP/1.1 200 OK\r\n\r\n" + big[:max]), big[:max], ""},

		{"404", reply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), "", "HTTP status 404 Not Found"},
		{"503", reply("HTTP/1.1 503 Service Unavailable\r\n\r\n"), "", "HTTP status 503"},
		{"304 is not 200", reply("HTTP/1.1 304 Not Modified\r\n\r\n"), "", "HTTP status 304"},
		{"redirect without location", reply("HTTP/1.1 302 Found\r\n\r\n"), "", "without a Location"},
		{"oversize content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + big), "", "larger than 64 bytes"},
		{"oversize chunked", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + big[:32] + "\r\n21\r\n" + big[:33] + "\r\n0\r\n\r\n"), "", "larger than 64 bytes"},
		{"oversize close-delimited", reply("HTTP/1.1 200 OK\r\n\r\n" + big), "", "larger than 64 bytes"},
		{"huge chunk size", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"), "", "invalid chunk size"},
		{"truncated content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), "", "after 5 of 10 bytes"},
		{"truncated chunked", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), "", "middle of a chunked body"},
		{"chunk longer than its size", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n"), "", "longer than its size"},
		{"bad chunk size", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), "", "invalid chunk size"},
		{"gzip transfer coding", reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), "", "unsupported transfer coding"},
		{"conflicting content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), "", "conflicting Content-Length"},
		{"negative content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), "", "invalid Content-Length"},
		{"plus content-length", reply("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello"), "", "invalid Content-Length"},

		{"garbage status line", reply("SSH-2.0-OpenSSH_9.2\r\n"), "", "bad status line"},
		{"HTTP/2 status line", reply("HTTP/2 200 OK\r\n\r\n"), "", "bad status line"},
		{"four-digit status", reply("HTTP/1.1 2000 OK\r\n\r\n"), "", "bad status line"},
		{"letters in status", reply("HTTP/1.1 2x0 OK\r\n\r\n"), "", "bad status line"},
		{"lower-case version", reply("http/1.1 200 OK\r\n\r\n"), "", "bad status line"},
		{"control byte in reason", reply("HTTP/1.1 200 O\x01K\r\n\r\n"), "", "bad status line"},
		{"bare CR", reply("HTTP/1.1 200 OK\rX: y\r\n\r\n"), "", "bare CR"},
		{"space before colon", reply("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"), "", "malformed header name"},
		{"header without colon", reply("HTTP/1.1 200 OK\r\nnonsense\r\n\r\n"), "", "malformed header line"},
		{"folded header", reply("HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n"), "", "folded"},
		{"long line", reply("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n"), "", "longer than"},
		{"too many headers", reply("HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n"), "", "more than 100 header fields"},
		{"endless interim responses", reply(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 50) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), "", "more than 10 interim"},
		{"ten interim responses", reply(strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 10) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), "ok", ""},
		{"two Location fields", reply("HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"), "", "more than one Location"},
		{"switching protocols", reply("HTTP/1.1 101 Switching Protocols\r\n\r\n"), "", "switched protocols"},
		{"closed without answer", reply(""), "", "without an answer"},
		{"closed in the head", reply("HTTP/1.1 200 OK\r\nContent-Le"), "", "middle of the response head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawHTTP(t, tt.respond)
			h := &httpClient{maxSize: max, getenv: noEnv}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			b, err := h.fetch(ctx, "GET", srv.URL+"/crl", "", nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q (body %q)", err, tt.err, b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("body %q, want %q", b, tt.want)
			}
		})
	}
}

// TestFetchRequest checks the bytes on the wire: request line, Host,
// Connection: close, and for POST the content type, length and body.
func TestFetchRequest(t *testing.T) {
	tests := []struct {
		name, method, path, ctype, body string
		line                            string
	}{
		{"CRL GET", "GET", "/crl", "", "", "GET /crl HTTP/1.1"},
		{"root path", "GET", "", "", "", "GET / HTTP/1.1"},
		{"query kept, fragment dropped", "GET", "/a/b.crl?x=1#frag", "", "", "GET /a/b.crl?x=1 HTTP/1.1"},
		{"escaped path", "GET", "/ocsp/MEow%2FTTBL", "", "", "GET /ocsp/MEow%2FTTBL HTTP/1.1"},
		{"OCSP POST", "POST", "/ocsp", "application/ocsp-request", "\x30\x03\x02\x01\x00", "POST /ocsp HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawHTTP(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
			h := &httpClient{maxSize: 1 << 10, getenv: noEnv}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			if _, err := h.fetch(context.Background(), tt.method, srv.URL+tt.path, tt.ctype, body); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			host := strings.TrimPrefix(srv.URL, "http://")
			if r.line != tt.line || r.header["host"] != host || r.header["connection"] != "close" {
				t.Errorf("got %q Host %q Connection %q; want %q Host %q Connection close", r.line, r.header["host"], r.header["connection"], tt.line, host)
			}
			if r.header["content-type"] != tt.ctype || string(r.body) != tt.body {
				t.Errorf("content type %q body %q; want %q %q", r.header["content-type"], r.body, tt.ctype, tt.body)
			}
			if _, ok := r.header["proxy-authorization"]; ok {
				t.Error("Proxy-Authorization sent to an origin server")
			}
		})
	}
}

func TestFetchRejectsURLs(t *testing.T) {
	tests := []struct{ url, err string }{
		{"https://crl.example/x.crl", "https is not used"},
		{"HTTPS://crl.example/x.crl", "https is not used"},
		{"ldap://ldap.example/cn=CRL", `scheme "ldap" is not fetched`},
		{"ftp://crl.example/x.crl", "only http"},
		{"http:///x.crl", "no host"},
		{"http://user:pw@crl.example/x.crl", "credentials"},
		{"http://crl.example:0/x.crl", "invalid port"},
		{"http://crl.example:99999/x.crl", "invalid port"},
		{"http://crl.example/a\r\nX-Injected: 1", "invalid"},
		{"http://crl.example/x?a b", "spaces or control"},
		{"http://crl.example/x?a\x7f", "control character"},
		{"://nothing", "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			h := &httpClient{maxSize: 1 << 10, getenv: noEnv}
			_, err := h.fetch(context.Background(), "GET", tt.url, "", nil)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// TestFetchRedirects: a chain of redirects is followed, a loop and a chain
// too long are not, nor a redirect to https; 303 turns a POST into a GET,
// the others keep it.
func TestFetchRedirects(t *testing.T) {
	tests := []struct {
		name    string
		codes   []int  // the redirect codes before the final answer
		method  string // of the first request
		methods []string
		loop    bool   // the last redirect points back to the first URL
		target  string // Location of the last redirect, if fixed
		err     string
	}{
		{"chain of five", []int{301, 302, 307, 308, 301}, "GET", []string{"GET", "GET", "GET", "GET", "GET", "GET"}, false, "", ""},
		{"POST kept by 301/302/307/308", []int{301, 302, 307, 308}, "POST", []string{"POST", "POST", "POST", "POST", "POST"}, false, "", ""},
		{"303 turns POST into GET", []int{303, 307}, "POST", []string{"POST", "GET", "GET"}, false, "", ""},
		{"six is too many", []int{302, 302, 302, 302, 302, 302}, "GET", nil, false, "", "more than 5 redirects"},
		{"loop", []int{302, 302}, "GET", nil, true, "", "redirect loop"},
		{"self loop", []int{301}, "GET", nil, true, "", "redirect loop"},
		{"to https", []int{302}, "GET", nil, false, "https://127.0.0.1/x.crl", "https is not used"},
		{"to ldap", []int{302}, "GET", nil, false, "ldap://x/y", "only http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *rawHTTP
			srv = newRawHTTP(t, func(c net.Conn, r *seenRequest) {
				// Path /N answers the N-th redirect code, or 200 past the list.
				fields := strings.Fields(r.line)
				n, _ := strconv.Atoi(strings.TrimPrefix(fields[1], "/"))
				if n >= len(tt.codes) {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(r.body)+2, "ok"+string(r.body))
					return
				}
				loc := "/" + strconv.Itoa(n+1) // relative reference
				if n == 1 {
					loc = srv.URL + loc // absolute
				}
				if n == len(tt.codes)-1 {
					switch {
					case tt.loop:
						loc = "/0"
					case tt.target != "":
						loc = tt.target
					}
				}
				fmt.Fprintf(c, "HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", tt.codes[n], loc)
			})
			h := &httpClient{maxSize: 1 << 10, getenv: noEnv}
			var body []byte
			if tt.method == "POST" {
				body = []byte("req")
			}
			b, err := h.fetch(context.Background(), tt.method, srv.URL+"/0", "application/ocsp-request", body)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != len(tt.methods) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.methods))
			}
			for i, r := range reqs {
				if m := strings.Fields(r.line)[0]; m != tt.methods[i] {
					t.Errorf("request %d: %s, want %s", i, m, tt.methods[i])
				}
			}
			want := "ok"
			if tt.methods[len(tt.methods)-1] == "POST" {
				want += "req"
			}
			if string(b) != want {
				t.Errorf("body %q, want %q", b, want)
			}
		})
	}
}

// TestCheckerFetchTimeout: servers that stall at each point of the
// exchange give "no answer within", not a hang, through the Checker.
func TestCheckerFetchTimeout(t *testing.T) {
	tests := []struct{ name, prefix string }{
		{"before the status line", ""},
		{"in the head", "HTTP/1.1 200 OK\r\nContent-"},
		{"in a content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"},
		{"in a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
		{"in a close-delimited body", "HTTP/1.1 200 OK\r\n\r\nhel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawHTTP(t, stall(tt.prefix))
			c := &Checker{Timeout: 200 * time.Millisecond}
			t.Setenv("http_proxy", "")
			t.Setenv("HTTP_PROXY", "")
			_, err := c.do(context.Background(), srv.URL+"/crl", nil)
			var fe *FetchError
			if !errors.As(err, &fe) || fe.URL != srv.URL+"/crl" || !strings.Contains(err.Error(), "no answer within 200ms") {
				t.Fatalf("err = %v, want a *FetchError for the URL saying no answer within 200ms", err)
			}
		})
	}
}

// TestCheckerFetchCancel: a cancelled caller stops a stalled fetch, and
// the error says so.
func TestCheckerFetchCancel(t *testing.T) {
	srv := newRawHTTP(t, stall("HTTP/1.1 200 OK\r\n"))
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := (&Checker{Timeout: time.Hour}).do(ctx, srv.URL+"/crl", nil)
		errc <- err
	}()
	for len(srv.requests()) == 0 { // wait until the request is in
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestCheckerFetchHook: Checker.Fetch replaces the built-in client; its
// errors are wrapped in *FetchError and its body is bounded by MaxSize.
func TestCheckerFetchHook(t *testing.T) {
	type call struct {
		method, url, ctype string
		body               []byte
		deadline           bool
	}
	tests := []struct {
		name    string
		body    []byte // request body (nil: GET)
		answer  []byte
		hookErr error
		err     string
	}{
		{"GET", nil, []byte("crl"), nil, ""},
		{"POST", []byte("ocsp"), []byte("resp"), nil, ""},
		{"error wrapped", nil, nil, errors.New("boom"), "boom"},
		{"oversize", nil, make([]byte, 11), nil, "larger than 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []call
			c := &Checker{MaxSize: 10, Fetch: func(ctx context.Context, method, url, ctype string, body []byte) ([]byte, error) {
				_, dl := ctx.Deadline()
				got = append(got, call{method, url, ctype, body, dl})
				return tt.answer, tt.hookErr
			}}
			b, err := c.do(context.Background(), "http://crl.example/x", tt.body)
			if len(got) != 1 || !got[0].deadline || got[0].url != "http://crl.example/x" {
				t.Fatalf("hook calls %+v, want one with a deadline", got)
			}
			wantMethod, wantType := "GET", ""
			if tt.body != nil {
				wantMethod, wantType = "POST", "application/ocsp-request"
			}
			if got[0].method != wantMethod || got[0].ctype != wantType || string(got[0].body) != string(tt.body) {
				t.Errorf("hook got %+v, want %s %q", got[0], wantMethod, wantType)
			}
			if tt.err != "" {
				var fe *FetchError
				if !errors.As(err, &fe) || fe.URL != "http://crl.example/x" || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a *FetchError containing %q", err, tt.err)
				}
				return
			}
			if err != nil || string(b) != string(tt.answer) {
				t.Errorf("got %q, %v; want %q", b, err, tt.answer)
			}
		})
	}
}

// forwardProxy is a test HTTP forward proxy: it takes absolute-form
// requests, checks Proxy-Authorization when auth is set, sends the
// request on in origin-form and copies the answer back.
func forwardProxy(t *testing.T, auth string) *rawHTTP {
	return newRawHTTP(t, func(c net.Conn, r *seenRequest) {
		if auth != "" && r.header["proxy-authorization"] != auth {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
			return
		}
		f := strings.Fields(r.line)
		u, err := url.Parse(f[1])
		if err != nil || u.Scheme != "http" || u.Host != r.header["host"] {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		up, err := net.Dial("tcp", u.Host)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		defer up.Close()
		up.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(up, "%s %s %s\r\n", f[0], u.RequestURI(), f[2])
		for k, v := range r.header {
			if k != "proxy-authorization" {
				fmt.Fprintf(up, "%s: %s\r\n", k, v)
			}
		}
		io.WriteString(up, "\r\n")
		up.Write(r.body)
		io.Copy(c, up)
	})
}

func TestFetchProxy(t *testing.T) {
	origin := newRawHTTP(t, func(c net.Conn, r *seenRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\norigin%s", 6+len(r.body), r.body)
	})
	proxy := forwardProxy(t, "")
	authProxy := forwardProxy(t, "Basic dTpwQHNz") // u:p@ss
	proxyHost := strings.TrimPrefix(proxy.URL, "http://")
	authHost := strings.TrimPrefix(authProxy.URL, "http://")
	originHost := strings.TrimPrefix(origin.URL, "http://")
	tests := []struct {
		name    string
		env     map[string]string
		via     *rawHTTP // the proxy that must see the request, nil for none
		err     string
		noLeaks string // must not appear in the error
	}{
		{"no proxy set", nil, nil, "", ""},
		{"http_proxy", map[string]string{"http_proxy": proxy.URL}, proxy, "", ""},
		{"HTTP_PROXY", map[string]string{"HTTP_PROXY": proxy.URL}, proxy, "", ""},
		{"without scheme", map[string]string{"http_proxy": proxyHost}, proxy, "", ""},
		{"lower case wins", map[string]string{"http_proxy": proxy.URL, "HTTP_PROXY": "http://127.0.0.1:1"}, proxy, "", ""},
		{"HTTP_PROXY ignored under CGI", map[string]string{"HTTP_PROXY": proxy.URL, "REQUEST_METHOD": "GET"}, nil, "", ""},
		{"no_proxy exact IP", map[string]string{"http_proxy": proxy.URL, "no_proxy": "example.org, 127.0.0.1"}, nil, "", ""},
		{"NO_PROXY star", map[string]string{"http_proxy": proxy.URL, "NO_PROXY": "*"}, nil, "", ""},
		{"no_proxy CIDR", map[string]string{"http_proxy": proxy.URL, "no_proxy": "127.0.0.0/8"}, nil, "", ""},
		{"no_proxy other host", map[string]string{"http_proxy": proxy.URL, "no_proxy": "localhost,10.0.0.0/8"}, proxy, "", ""},
		{"proxy credentials", map[string]string{"http_proxy": "http://u:p%40ss@" + authHost}, authProxy, "", ""},
		{"proxy wants credentials", map[string]string{"http_proxy": authProxy.URL}, authProxy, "asks for credentials", ""},
		{"wrong credentials, redacted", map[string]string{"http_proxy": "http://u:s3cret@" + authHost}, authProxy, "asks for credentials", "s3cret"},
		{"dead proxy, redacted", map[string]string{"http_proxy": "http://u:s3cret@127.0.0.1:1"}, nil, "connecting to the proxy", "s3cret"},
		{"socks proxy", map[string]string{"http_proxy": "socks5://127.0.0.1:1080"}, nil, "only http:// proxies", ""},
		// A password with an unencoded '/', '?' or '#' ends the authority
		// early: neither the parser's error nor the misread URL may show it.
		{"unencoded slash in password", map[string]string{"http_proxy": "http://u:s3cret/x@" + authHost}, nil, "percent-encode", "s3cret"},
		{"unencoded hash in password", map[string]string{"http_proxy": "http://u:s3cret#x@" + authHost}, nil, "percent-encode", "s3cret"},
		{"unencoded question mark in password", map[string]string{"http_proxy": "u:s3cret?x@" + authHost}, nil, "percent-encode", "s3cret"},
		{"bad escape in password", map[string]string{"http_proxy": "http://u:s3%zzcret@" + authHost}, nil, "percent-encode", "%zz"},
		{"password misread as a path", map[string]string{"http_proxy": "http://127.0.0.1:1/s3cret@" + authHost}, nil, "percent-encode", "s3cret"},
		{"user-only credentials, dead proxy", map[string]string{"http_proxy": "http://t0ken@127.0.0.1:1"}, nil, "connecting to the proxy http://127.0.0.1:1", "t0ken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[*rawHTTP]int{proxy: len(proxy.requests()), authProxy: len(authProxy.requests())}
			h := &httpClient{maxSize: 1 << 10, getenv: func(k string) string { return tt.env[k] }}
			b, err := h.fetch(context.Background(), "POST", origin.URL+"/ocsp?q=1", "application/ocsp-request", []byte("Q"))
			if tt.noLeaks != "" && err != nil && strings.Contains(err.Error(), tt.noLeaks) {
				t.Errorf("error %q shows the proxy password", err)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
			} else if err != nil || string(b) != "originQ" {
				t.Fatalf("got %q, %v; want the origin's answer", b, err)
			}
			for p, n := range before {
				reqs := p.requests()[n:]
				if p != tt.via {
					if len(reqs) != 0 {
						t.Errorf("proxy %s saw %d requests, want none", p.URL, len(reqs))
					}
					continue
				}
				if len(reqs) != 1 {
					t.Fatalf("proxy saw %d requests, want 1", len(reqs))
				}
				want := "POST http://" + originHost + "/ocsp?q=1 HTTP/1.1"
				if reqs[0].line != want || reqs[0].header["host"] != originHost {
					t.Errorf("proxy saw %q Host %q, want %q Host %q", reqs[0].line, reqs[0].header["host"], want, originHost)
				}
			}
		})
	}
}

// TestCheckerUsesEnvProxy: through the real environment, a whole
// revocation check goes via the proxy in http_proxy.
func TestCheckerUsesEnvProxy(t *testing.T) {
	s := revocationScenario(t, "revoked")
	proxy := forwardProxy(t, "")
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("no_proxy", "")
	t.Setenv("NO_PROXY", "")
	r := Verify(s.Chain, Options{Roots: s.Pool(), Checker: &Checker{}})
	if !r.Has(KindRevoked) {
		t.Fatalf("want revoked through the proxy, got %v", r.Problems)
	}
	// The leaf's CRL and the intermediate's (at the root's responder)
	// both go through the proxy.
	reqs := proxy.requests()
	leafCRL := 0
	for _, q := range reqs {
		if !strings.HasPrefix(q.line, "GET http://127.0.0.1:") || !strings.HasSuffix(q.line, "/crl HTTP/1.1") {
			t.Errorf("proxy saw %q, want an absolute-form GET of a CRL", q.line)
		}
		if q.line == "GET "+s.Responder.CRLURL+" HTTP/1.1" {
			leafCRL++
		}
	}
	if len(reqs) != 2 || leafCRL != 1 || s.Responder.Hits("/crl") != 1 {
		t.Errorf("proxy forwarded %d requests (%d for the leaf's CRL), responder served %d; want 2, 1, 1",
			len(reqs), leafCRL, s.Responder.Hits("/crl"))
	}
}

func TestBypassProxy(t *testing.T) {
	tests := []struct {
		host, list string
		want       bool
	}{
		{"crl.example.com", "", false},
		{"crl.example.com", "*", true},
		{"crl.example.com", "example.com", true},
		{"crl.example.com", ".example.com", true},
		{"example.com", ".example.com", true},
		{"CRL.Example.COM.", "example.com", true},
		{"notexample.com", "example.com", false},
		{"example.com.evil", "example.com", false},
		{"crl.example.com", "other.org, example.com", true},
		{"crl.example.com", "other.org example.com", true},
		{"10.1.2.3", "10.0.0.0/8", true},
		{"11.1.2.3", "10.0.0.0/8", false},
		{"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.3", "10.1.2.4", false},
		{"::1", "::1", true},
		{"::1", "[::1]", true},
		{"2001:db8::5", "2001:db8::/32", true},
		{"10.1.2.3", "10.", false},
		{"", "*", false},
	}
	for _, tt := range tests {
		if got := bypassProxy(tt.host, tt.list); got != tt.want {
			t.Errorf("bypassProxy(%q, %q) = %v, want %v", tt.host, tt.list, got, tt.want)
		}
	}
}
