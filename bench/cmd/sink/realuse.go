package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tlsmail/tlsmail/internal/pki"
)

// realUse is the PKI of the real-use benchmark rows: a root, an
// intermediate whose certificate names the root's CRL and OCSP URLs, and a
// loopback leaf naming the intermediate's, as public CAs issue them; and
// the HTTP responder that serves those URLs after a delay. CRLs and OCSP
// responses are valid for 7 days, as public CAs commonly publish them.
type realUse struct {
	cert   tls.Certificate
	caFile string
	url    string

	delay time.Duration
	root  *pki.Authority
	inter *pki.Authority
	crls  map[string][]byte // path → DER, made once (a CA publishes one)
	hits  atomic.Int64
	ln    net.Listener
	srv   *http.Server
}

func startRealUse(dir string, delay time.Duration) (*realUse, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &realUse{delay: delay, ln: ln, url: "http://" + ln.Addr().String(), crls: map[string][]byte{}}
	if r.root, err = pki.NewRoot(pki.Options{CommonName: "tlsmail bench real-use root"}); err != nil {
		return nil, err
	}
	if r.inter, err = r.root.NewIntermediate(pki.Options{CommonName: "tlsmail bench real-use intermediate",
		CRLDistributionPoints: []string{r.url + "/root.crl"}, OCSPServer: []string{r.url + "/root.ocsp"}}); err != nil {
		return nil, err
	}
	leaf, err := r.inter.Issue(pki.Options{DNSNames: pki.LoopbackNames(), IPAddresses: pki.LoopbackIPs(),
		CRLDistributionPoints: []string{r.url + "/inter.crl"}, OCSPServer: []string{r.url + "/inter.ocsp"}})
	if err != nil {
		return nil, err
	}
	r.cert = leaf.TLSCertificate()
	for path, ca := range map[string]*pki.Authority{"/root.crl": r.root, "/inter.crl": r.inter} {
		now := time.Now()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
			ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(7 * 24 * time.Hour)}, ca.Cert, ca.Key)
		if err != nil {
			return nil, err
		}
		r.crls[path] = der
	}
	r.caFile = filepath.Join(dir, "realuse-ca.pem")
	if err := os.WriteFile(r.caFile, pki.CertsPEM(r.root.Cert), 0o644); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hits", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strconv.FormatInt(r.hits.Load(), 10)+"\n")
	})
	for path := range r.crls {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			r.hits.Add(1)
			time.Sleep(r.delay)
			w.Header().Set("Content-Type", "application/pkix-crl")
			w.Write(r.crls[path])
		})
	}
	mux.HandleFunc("POST /root.ocsp", func(w http.ResponseWriter, req *http.Request) { r.ocsp(w, req, r.root) })
	mux.HandleFunc("POST /inter.ocsp", func(w http.ResponseWriter, req *http.Request) { r.ocsp(w, req, r.inter) })
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// ocsp answers "good" for any serial ca is asked about (RFC 6960).
func (r *realUse) ocsp(w http.ResponseWriter, req *http.Request, ca *pki.Authority) {
	r.hits.Add(1)
	time.Sleep(r.delay)
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		return
	}
	q, err := ocsp.ParseRequest(body)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	now := time.Now()
	der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: q.SerialNumber,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(7 * 24 * time.Hour)}, ca.Key)
	if err != nil {
		http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

func (r *realUse) Close() error { return r.srv.Close() }
