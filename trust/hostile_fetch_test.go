package trust

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// Hostile CRL and OCSP responders (issue 11, "also prove"): whatever a
// responder sends, revocation ends within the Checker's Timeout, reads at
// most MaxSize bytes of body into memory, and ends in a named problem
// (revocation-unknown) whose summary says what went wrong.

// endless writes chunk again and again until the client hangs up.
func endless(head, chunk string) func(net.Conn, *seenRequest) {
	return func(c net.Conn, _ *seenRequest) {
		io.WriteString(c, head)
		b := []byte(strings.Repeat(chunk, max(1, (64<<10)/len(chunk))))
		for {
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
}

// dripping writes head, then one byte of chunk (cyclically) every 10 ms
// until the client hangs up: always busy, never done.
func dripping(head, chunk string) func(net.Conn, *seenRequest) {
	return func(c net.Conn, _ *seenRequest) {
		io.WriteString(c, head)
		for i := 0; ; i++ {
			if _, err := c.Write([]byte{chunk[i%len(chunk)]}); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// derReply answers 200 with body as an application/pkix-crl or
// application/ocsp-response.
func derReply(body []byte) func(net.Conn, *seenRequest) {
	return reply(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}

func TestHostileRevocationResponders(t *testing.T) {
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	const (
		// dripTimeout is the Checker's Timeout for the drips, which only
		// the timeout can end. Every other responder must be stopped by
		// a limit of its own (size, fields, redirects, parsing), so it
		// gets hangTimeout, which it never reaches: with 300 ms for all,
		// a loaded machine turned "larger than 65536 bytes" into "no
		// answer within 300ms".
		dripTimeout = 300 * time.Millisecond
		hangTimeout = time.Minute
		maxSize     = 64 << 10
	)
	root, err := testpki.NewRoot(testpki.Options{CommonName: "Hostile Test Root"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewRoot(testpki.Options{CommonName: "Other CA"})
	if err != nil {
		t.Fatal(err)
	}
	// A responder certificate from another CA, with the OCSPSigning usage
	// a delegated responder needs: right usage, wrong issuer.
	otherResponder, err := other.Issue(testpki.Options{CommonName: "Other OCSP", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := testpki.NewKey()
	// impostor is the root's name and serial with another key: a CRL or
	// OCSP response "from the issuer" that the issuer did not sign.
	impostor := *root.Cert
	impostor.PublicKey = wrongKey.Public()

	crl := func(signer *x509.Certificate, key crypto.Signer) []byte {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		}, signer, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	ocspResp := func(serial *big.Int, responder *x509.Certificate, key crypto.Signer, embed bool) []byte {
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: serial,
			ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}
		if embed {
			tmpl.Certificate = responder
		}
		der, err := ocsp.CreateResponse(root.Cert, responder, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	var leafSerial atomic.Pointer[big.Int] // the certificate under test, set per case

	big64 := strings.Repeat("x", maxSize+1)
	tests := []struct {
		name    string
		ocsp    bool // the certificate names an OCSP responder (POST); else a CRL (GET)
		respond func(c net.Conn, r *seenRequest)
		detail  string
		memory  bool // the responder offers far more than MaxSize: check allocations
	}{
		// Bodies too big, announced or not.
		{"endless close-delimited CRL", false, endless("HTTP/1.1 200 OK\r\n\r\n", "0123456789"), "larger than 65536 bytes", true},
		{"endless chunked CRL", false, endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1000\r\n"+strings.Repeat("y", 0x1000)+"\r\n"), "larger than 65536 bytes", true},
		{"terabyte Content-Length", false, endless("HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n", "z"), "larger than 65536 bytes", true},
		{"one byte over MaxSize", false, reply("HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n" + big64), "larger than 65536 bytes", false},
		{"endless OCSP response", true, endless("HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n\r\n", "\x30\x82"), "larger than 65536 bytes", true},
		{"huge chunk size", false, reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n"), "larger than 65536 bytes", false},
		// Slow drips: busy, never done.
		{"status line dripped", false, dripping("", "HTTP/1.1 200 OK"), "no answer within 300ms", false},
		{"headers dripped without end", false, dripping("HTTP/1.1 200 OK\r\n", "X-A: b\r\n"), "no answer within 300ms", false},
		{"Content-Length body dripped", false, dripping("HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n", "\x30"), "no answer within 300ms", false},
		{"close-delimited body dripped", true, dripping("HTTP/1.1 200 OK\r\n\r\n", "\x30"), "no answer within 300ms", false},
		{"chunked body dripped", false, dripping("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n"), "no answer within 300ms", false},
		// Heads without end, fast.
		{"endless header fields", false, endless("HTTP/1.1 200 OK\r\n", "X-A: b\r\n"), "more than 100 header fields", true},
		{"endless header line", false, endless("HTTP/1.1 200 OK\r\nX-A: ", "b"), "longer than 8192 bytes", true},
		{"endless status line", true, endless("HTTP/1.1 200 ", "O"), "longer than 8192 bytes", true},
		{"endless interim responses", false, endless("", "HTTP/1.1 100 Continue\r\n\r\n"), "more than 10 interim", true},
		// Chunked coding abuse.
		{"endless trailer fields", false, endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", "T: x\r\n"), "more than 100 trailer fields", true},
		{"endless one-byte chunks with long extensions", false, endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1;"+strings.Repeat("e", 8000)+"\r\nx\r\n"), "mostly framing", true},
		{"chunk extension longer than a line", false, endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", "e"), "longer than 8192 bytes", true},
		{"endless one-byte chunks", false, endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n"), "larger than 65536 bytes", true},
		{"chunk size in decimal garbage", false, reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n"), "invalid chunk size", false},
		{"chunk data beyond its size", true, reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz\r\n0\r\n\r\n"), "longer than its size", false},
		// Redirects.
		{"redirect loop", false, func(c net.Conn, r *seenRequest) {
			next := "/a"
			if strings.Contains(r.line, " /a ") {
				next = "/crl"
			}
			io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: "+next+"\r\nContent-Length: 0\r\n\r\n")
		}, "redirect loop", false},
		{"endless redirects", true, func(c net.Conn, r *seenRequest) {
			io.WriteString(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /r"+fmt.Sprint(time.Now().UnixNano())+"\r\nContent-Length: 0\r\n\r\n")
		}, "more than 5 redirects", false},
		// Well-framed, but not what was asked for.
		{"garbage CRL", false, derReply([]byte("\x30\x03\x02\x01\x00 not a CRL")), "cannot be parsed", false},
		{"CRL under the issuer's name, another key", false, derReply(crl(&impostor, wrongKey)), "is not signed by", false},
		{"CRL from another CA", false, derReply(crl(other.Cert, other.Key)), "issued by", false},
		{"garbage OCSP response", true, derReply([]byte("\x30\x03\x0a\x01\x00 not OCSP")), "not a DER-encoded OCSP response", false},
		{"HTML instead of OCSP", true, derReply([]byte("<html>captive portal</html>")), "not a DER-encoded OCSP response", false},
		{"OCSP signed with the wrong key", true, func(c net.Conn, r *seenRequest) {
			derReply(ocspResp(leafSerial.Load(), root.Cert, wrongKey, false))(c, r)
		}, `not signed by the issuer "CN=Hostile Test Root"`, false},
		{"OCSP from another CA's responder", true, func(c net.Conn, r *seenRequest) {
			derReply(ocspResp(leafSerial.Load(), otherResponder.Cert, otherResponder.Key, true))(c, r)
		}, "which \"CN=Hostile Test Root\" did not certify", false},
		{"OCSP response for another certificate", true, func(c net.Conn, r *seenRequest) {
			derReply(ocspResp(new(big.Int).Add(leafSerial.Load(), big.NewInt(1)), root.Cert, root.Key, false))(c, r)
		}, "no response matching the supplied certificate", false},
		{"OCSP unauthorized", true, derReply(ocsp.UnauthorizedErrorResponse), `the responder answered "unauthorized"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRawHTTP(t, tt.respond)
			opts := testpki.Options{DNSNames: []string{"localhost"}}
			if tt.ocsp {
				opts.OCSPServer = []string{srv.URL + "/ocsp"}
			} else {
				opts.CRLDistributionPoints = []string{srv.URL + "/crl"}
			}
			leaf, err := root.Issue(opts)
			if err != nil {
				t.Fatal(err)
			}
			leafSerial.Store(leaf.Cert.SerialNumber)
			timeout := hangTimeout
			if strings.HasPrefix(tt.detail, "no answer within") {
				timeout = dripTimeout
			}
			vopts := Options{Roots: root.Pool(), Name: "localhost", Checker: &Checker{Timeout: timeout, MaxSize: maxSize}}

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			began := time.Now()
			r := Verify(leaf.Chain, vopts)
			took := time.Since(began)
			runtime.ReadMemStats(&after)

			checkInvariants(t, leaf.Chain, vopts, r)
			// An upper bound against hangs, not a speed assertion.
			if budget := timeout + 5*time.Second; took > budget {
				t.Errorf("revocation took %v, beyond the %v timeout (and slack)", took, timeout)
			}
			if tt.memory {
				// The responder offered gigabytes; the client may
				// hold MaxSize, a line buffer and TLS-free slack.
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
					t.Errorf("revocation allocated %d bytes with MaxSize %d", alloc, maxSize)
				}
			}
			if !r.Has(KindRevocationUnknown) || !r.OK() {
				t.Fatalf("want only a revocation-unknown warning, got %v", r.Problems)
			}
			var p *Problem
			for i := range r.Problems {
				if r.Problems[i].Kind == KindRevocationUnknown {
					p = &r.Problems[i]
				}
			}
			t.Log(p.Summary)
			if !strings.Contains(p.Summary, "is unknown") || !strings.Contains(p.Summary, tt.detail) || !strings.Contains(p.Summary, srv.URL) {
				t.Errorf("summary %q does not name the URL and %q", p.Summary, tt.detail)
			}
			if len(r.Revocation) != 1 || r.Revocation[0].Status != StatusUnknown {
				t.Errorf("revocation results %+v, want one unknown", r.Revocation)
			}
			// Strict mode turns the same answer into an error.
			vopts.Revocation, vopts.Checker = RevocationStrict, &Checker{Timeout: timeout, MaxSize: maxSize}
			if r := Verify(leaf.Chain, vopts); r.OK() || !r.Has(KindRevocationUnknown) {
				t.Errorf("strict: %v", r.Problems)
			}
		})
	}
}

// TestRevocationURLsPerCertificateBounded: a certificate listing many CRL
// and OCSP URLs, all leading to a responder that never answers, costs at
// most maxURLsPerKind fetches of each kind, not one per URL it lists.
//
// The fetches of a certificate are made at once, so the responder holds
// every request without a word until 2*maxURLsPerKind have arrived, then
// hangs up on all of them: the count is exact whatever the machine's load.
// (With a stalling responder and a short Timeout, a fetch could time out
// before the server had read its request, and go uncounted.) Timeout only
// bounds the test if fewer fetches than that are ever made at once.
func TestRevocationURLsPerCertificateBounded(t *testing.T) {
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	var arrived atomic.Int32
	all, ended := make(chan struct{}), make(chan struct{})
	srv := newRawHTTP(t, func(c net.Conn, _ *seenRequest) {
		if arrived.Add(1) == 2*maxURLsPerKind {
			close(all)
		}
		select {
		case <-all:
		case <-ended:
		}
	})
	t.Cleanup(func() { close(ended) }) // runs before srv's own cleanup waits for its handlers
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var crls, ocsps []string
	for i := range 12 {
		crls = append(crls, fmt.Sprintf("%s/crl%d", srv.URL, i))
		ocsps = append(ocsps, fmt.Sprintf("%s/ocsp%d", srv.URL, i))
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: crls, OCSPServer: ocsps})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Roots: root.Pool(), Name: "localhost", Checker: &Checker{Timeout: 10 * time.Second}}
	r := Verify(leaf.Chain, opts)
	if !r.Has(KindRevocationUnknown) || !r.OK() {
		t.Fatalf("want a revocation-unknown warning, got %v", r.Problems)
	}
	if n := len(srv.requests()); n != 2*maxURLsPerKind {
		t.Errorf("%d fetches for 12 CRL and 12 OCSP URLs, want %d", n, 2*maxURLsPerKind)
	}
	for _, w := range []string{"9 more CRL URLs not fetched", "9 more OCSP URLs not asked"} {
		if len(r.Revocation) != 1 || !strings.Contains(r.Revocation[0].Detail, w) {
			t.Errorf("detail %+v lacks %q", r.Revocation, w)
		}
	}
}
