package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Roots on demand. With the system's roots (Options.Roots nil), crypto/x509
// parses every certificate of the system bundle the first time a process
// verifies anything: 140-odd roots, several times the cost of the rest of
// a verification, though only the one or two whose name is the issuer of a
// certificate in the chain can ever anchor it. On Linux, where the system
// roots are PEM files, this file reads the same files crypto/x509 reads
// (root_linux.go, root_unix.go: SSL_CERT_FILE or the first bundle found,
// then SSL_CERT_DIR or /etc/ssl/certs and /etc/pki/tls/certs), indexes
// each certificate by its raw subject with a short DER walk, and parses
// only those whose subject is the issuer of a certificate in the chain.
//
// crypto/x509 finds a certificate's possible parents in a pool by the
// issuer name alone (CertPool.findPotentialParents), so a pool of those
// candidates, in bundle order, builds the same paths as the whole system
// pool. The candidates' verdict is taken only when it is a trusted path
// (Report.Trusted); anything else (an untrusted root, a missing
// intermediate, no system roots at all) is diagnosed again against the
// whole system pool, so that the diagnosis and its wording stay exactly
// those of today. Other systems (Windows, macOS, where crypto/x509 asks the
// platform verifier, and the BSDs) always use the system pool.

// linuxCertFiles and linuxCertDirs are crypto/x509's lists for Linux
// (root_linux.go).
var (
	linuxCertFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	linuxCertDirs = []string{
		"/etc/ssl/certs",
		"/etc/pki/tls/certs",
	}
)

// rootIndex is the system roots as DER, indexed by raw subject.
type rootIndex struct {
	roots     []*indexedRoot // in the order crypto/x509 adds them
	bySubject map[string][]*indexedRoot
	// seen holds the PEM text of each block indexed: a file in a
	// certificate directory that holds exactly such a text (on Debian,
	// every /etc/ssl/certs/*.pem is one of the bundle's certificates) is
	// the same DER, which crypto/x509's pool adds once, so it is not
	// decoded again.
	seen map[string]bool
}

type indexedRoot struct {
	der  []byte
	once sync.Once
	cert *x509.Certificate // nil when it does not parse (crypto/x509 skips it too)
}

func (r *indexedRoot) parsed() *x509.Certificate {
	r.once.Do(func() { r.cert, _ = x509.ParseCertificate(r.der) })
	return r.cert
}

// systemRootIndex is built once per process, as crypto/x509 loads its
// system pool once; nil when roots on demand do not apply here.
var systemRootIndex = sync.OnceValue(func() *rootIndex {
	if runtime.GOOS != "linux" {
		return nil
	}
	return loadRootIndex(os.Getenv("SSL_CERT_FILE"), os.Getenv("SSL_CERT_DIR"))
})

// loadRootIndex reads what crypto/x509's loadSystemRoots reads on Linux,
// in the same order. nil when it finds no certificate (crypto/x509 may
// then use fallback roots, or report that there are none: the whole pool
// decides).
func loadRootIndex(certFile, certDir string) *rootIndex {
	idx := &rootIndex{bySubject: map[string][]*indexedRoot{}, seen: map[string]bool{}}
	files := linuxCertFiles
	if certFile != "" {
		files = []string{certFile}
	}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			idx.addPEM(data)
			break
		}
	}
	dirs := linuxCertDirs
	if certDir != "" {
		dirs = strings.Split(certDir, ":")
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if sameDirSymlink(e, dir) {
				continue
			}
			if data, err := os.ReadFile(dir + "/" + e.Name()); err == nil && !idx.seen[string(bytes.TrimSpace(data))] {
				idx.addPEM(data)
			}
		}
	}
	if len(idx.roots) == 0 {
		return nil
	}
	return idx
}

// sameDirSymlink is crypto/x509's isSameDirSymlink: a link to a file in
// the same directory (the hash links of c_rehash) is read once, as its
// target.
func sameDirSymlink(e fs.DirEntry, dir string) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}

// addPEM indexes the CERTIFICATE blocks of data that
// CertPool.AppendCertsFromPEM would consider (no PEM headers).
func (idx *rootIndex) addPEM(data []byte) {
	for len(data) > 0 {
		var block *pem.Block
		from := data
		block, data = pem.Decode(data)
		if block == nil {
			return
		}
		text := bytes.TrimSpace(from[:len(from)-len(data)])
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		subject, ok := rawSubject(block.Bytes)
		if !ok {
			continue
		}
		r := &indexedRoot{der: block.Bytes}
		idx.seen[string(text)] = true
		idx.roots = append(idx.roots, r)
		idx.bySubject[string(subject)] = append(idx.bySubject[string(subject)], r)
	}
}

// rawSubject finds the subject of a DER certificate (RFC 5280 section
// 4.1: Certificate → tbsCertificate → [0] version, serialNumber,
// signature, issuer, validity, subject) without parsing the rest: the
// same bytes as x509.Certificate.RawSubject.
func rawSubject(der []byte) ([]byte, bool) {
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	var subject cryptobyte.String
	ok := in.ReadASN1(&cert, cbasn1.SEQUENCE) &&
		cert.ReadASN1(&tbs, cbasn1.SEQUENCE) &&
		tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) &&
		tbs.SkipASN1(cbasn1.INTEGER) &&
		tbs.SkipASN1(cbasn1.SEQUENCE) && // signature
		tbs.SkipASN1(cbasn1.SEQUENCE) && // issuer
		tbs.SkipASN1(cbasn1.SEQUENCE) && // validity
		tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE)
	return subject, ok
}

// candidateRoots returns a pool of the system roots whose subject is the
// issuer of a certificate in chain, in the system pool's order. ok is
// false when roots on demand do not apply (not Linux, no bundle) or no
// root matches (the whole pool then diagnoses the chain).
func candidateRoots(idx *rootIndex, chain []*x509.Certificate) (pool *x509.CertPool, ok bool) {
	if idx == nil {
		return nil, false
	}
	var picked map[*indexedRoot]bool
	for _, c := range chain {
		if c == nil {
			continue
		}
		for _, r := range idx.bySubject[string(c.RawIssuer)] {
			if picked == nil {
				picked = map[*indexedRoot]bool{}
			}
			picked[r] = true
		}
	}
	if len(picked) == 0 {
		return nil, false
	}
	pool = x509.NewCertPool()
	n := 0
	for _, r := range idx.roots {
		if !picked[r] {
			continue
		}
		if c := r.parsed(); c != nil {
			pool.AddCert(c)
			n++
		}
	}
	return pool, n > 0
}

// verifyRootsOnDemand verifies chain against the system roots that can
// anchor it, when opts asks for the system roots and this system keeps
// them in files. ok is false when the caller must verify against the
// whole system pool: roots on demand do not apply, or the candidates give
// no trusted path (so that an untrusted root or a missing intermediate is
// diagnosed exactly as before).
//
// verify (verify.go) calls it first, for a chain whose certificates all
// parsed, when opts.Roots is nil.
func verifyRootsOnDemand(ctx context.Context, chain []*x509.Certificate, opts Options) (r Report, ok bool) {
	if opts.Roots != nil {
		return r, false
	}
	pool, ok := candidateRoots(systemRootIndex(), chain)
	if !ok {
		return r, false
	}
	o := opts
	o.Roots, o.Cache = pool, nil
	if r = VerifyContext(ctx, chain, o); !r.Trusted {
		return Report{}, false
	}
	return r, true
}
