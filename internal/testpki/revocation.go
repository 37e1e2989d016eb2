package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/internal/pki"
	"golang.org/x/crypto/ocsp"
)

// Responder serves one authority's CRL (GET /crl) and OCSP responses
// (POST /ocsp, RFC 6960 appendix A.1) over HTTP on a loopback port. Tests
// revoke certificates, make it fail, and count its hits.
type Responder struct {
	CA      *Authority
	URL     string // http://127.0.0.1:PORT
	CRLURL  string
	OCSPURL string

	ln  net.Listener
	srv *http.Server
	// next is closed with this one (the responder of the CA above).
	next *Responder

	mu      sync.Mutex
	revoked map[string]revokedEntry
	failing bool
	hits    map[string]int
	crlNum  int64
}

type revokedEntry struct {
	at     time.Time
	reason int
}

// NewResponder starts a responder for ca on 127.0.0.1. Close stops it.
func NewResponder(ca *Authority) (*Responder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testpki: responder: %w", err)
	}
	r := &Responder{CA: ca, ln: ln, revoked: map[string]revokedEntry{}, hits: map[string]int{}}
	r.URL = "http://" + ln.Addr().String()
	r.CRLURL = r.URL + "/crl"
	r.OCSPURL = r.URL + "/ocsp"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crl", r.serveCRL)
	mux.HandleFunc("POST /ocsp", r.serveOCSP)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Close stops the server (and the responder of the CA above, if the
// scenario made one).
func (r *Responder) Close() error {
	if r.next != nil {
		r.next.Close()
	}
	return r.srv.Close()
}

// Revoke marks c revoked now, with an RFC 5280 reason code (ocsp.KeyCompromise...).
func (r *Responder) Revoke(c *x509.Certificate, reason int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[c.SerialNumber.String()] = revokedEntry{at: time.Now().Add(-time.Minute).Truncate(time.Second), reason: reason}
}

// SetFailing makes every request fail with HTTP 503 (or work again).
func (r *Responder) SetFailing(f bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing = f
}

// Hits returns how many requests path ("/crl" or "/ocsp") has served.
func (r *Responder) Hits(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[path]
}

func (r *Responder) hit(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits[path]++
	return !r.failing
}

// CRL returns a DER CRL listing the revoked certificates, valid for a day.
func (r *Responder) CRL() ([]byte, error) {
	r.mu.Lock()
	r.crlNum++
	tmpl := &x509.RevocationList{Number: big.NewInt(r.crlNum), ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(24 * time.Hour)}
	for s, e := range r.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: n, RevocationTime: e.at, ReasonCode: e.reason})
	}
	r.mu.Unlock()
	return x509.CreateRevocationList(rand.Reader, tmpl, r.CA.Cert, pki.FullLength(r.CA.Key))
}

// OCSPResponse returns a signed OCSP response for c, good or revoked, as a
// server staples it.
func (r *Responder) OCSPResponse(c *x509.Certificate) ([]byte, error) {
	return r.ocspFor(c.SerialNumber)
}

func (r *Responder) ocspFor(serial *big.Int) ([]byte, error) {
	r.mu.Lock()
	e, revoked := r.revoked[serial.String()]
	r.mu.Unlock()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: serial,
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour)}
	if revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, e.at, e.reason
	}
	return ocsp.CreateResponse(r.CA.Cert, r.CA.Cert, tmpl, pki.FullLength(r.CA.Key))
}

func (r *Responder) serveCRL(w http.ResponseWriter, req *http.Request) {
	if !r.hit("/crl") {
		http.Error(w, "responder failing on purpose", http.StatusServiceUnavailable)
		return
	}
	der, err := r.CRL()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}

func (r *Responder) serveOCSP(w http.ResponseWriter, req *http.Request) {
	if !r.hit("/ocsp") {
		http.Error(w, "responder failing on purpose", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		return
	}
	q, err := ocsp.ParseRequest(body)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	der, err := r.ocspFor(q.SerialNumber)
	if err != nil {
		w.Write(ocsp.InternalErrorErrorResponse)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// RevocationKinds lists the revocation kinds NewRevocationScenario makes.
func RevocationKinds() []string { return []string{"revoked", "revocation-unknown"} }

// RevocationVariants lists every variant NewRevocationScenario makes:
// revoked through the CRL, through the OCSP responder or through a stapled
// response; an unknown status because the responder fails.
func RevocationVariants() []string {
	return []string{"revoked", "revoked-ocsp", "revoked-staple", "revocation-unknown", "revocation-good"}
}

// NewRevocationScenario makes a three-level PKI whose intermediate has a
// running Responder, and a localhost leaf that points to it, in the state
// variant asks for (see RevocationVariants). The caller closes
// s.Responder. "revocation-good" is a clean chain with a working CRL.
func NewRevocationScenario(variant string) (*Scenario, error) {
	root, err := NewRoot(Options{})
	if err != nil {
		return nil, err
	}
	// The root's responder answers for the intermediate, so that strict
	// checking finds a status for every certificate below the root.
	rootResp, err := NewResponder(root)
	if err != nil {
		return nil, err
	}
	ia, err := root.NewIntermediate(Options{CRLDistributionPoints: []string{rootResp.CRLURL}})
	if err != nil {
		rootResp.Close()
		return nil, err
	}
	resp, err := NewResponder(ia)
	if err != nil {
		rootResp.Close()
		return nil, err
	}
	resp.next = rootResp
	o := Options{DNSNames: LoopbackNames, IPAddresses: LoopbackIPs()}
	kind := variant
	switch variant {
	case "revoked", "revocation-unknown", "revocation-good":
		o.CRLDistributionPoints = []string{resp.CRLURL}
	case "revoked-ocsp":
		o.OCSPServer = []string{resp.OCSPURL}
		kind = "revoked"
	case "revoked-staple":
		kind = "revoked"
	default:
		resp.Close()
		return nil, errors.New("testpki: no revocation variant " + variant)
	}
	l, err := ia.Issue(o)
	if err != nil {
		resp.Close()
		return nil, err
	}
	s := &Scenario{Kind: kind, Variant: variant, Name: "localhost", Roots: []*x509.Certificate{root.Cert},
		Chain: l.Chain, Key: l.Key, Responder: resp}
	switch variant {
	case "revoked", "revoked-ocsp", "revoked-staple":
		resp.Revoke(l.Cert, ocsp.KeyCompromise)
		s.About = "the server's certificate is revoked (keyCompromise)"
	case "revocation-unknown":
		resp.SetFailing(true)
		s.About = "the CRL server fails, so the revocation status is unknown"
	case "revocation-good":
		s.Kind, s.About = "", "a valid chain whose CRL lists nothing"
	}
	if variant == "revoked-staple" {
		if s.Staple, err = resp.OCSPResponse(l.Cert); err != nil {
			resp.Close()
			return nil, err
		}
	}
	return s, nil
}
